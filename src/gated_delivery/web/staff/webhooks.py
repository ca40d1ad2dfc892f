"""The staff pages of webhook endpoints: list, add, one endpoint's log, its actions.

Only staff with the admin right (``gated-delivery staff set-admin``) see them: endpoints
receive order data. Each form carries the CSRF token; each action calls the core's own
function in ``gated_delivery.webhooks.endpoints`` and is audited with the staff member.
A new or rotated secret is shown once, on the page that answers the form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gated_delivery.errors import ActionRefused, InvalidInput
from gated_delivery.plugin_types import StaffUser
from gated_delivery.web.staff import i18n
from gated_delivery.web.staff.site import StaffSite, read_form
from gated_delivery.webhooks import endpoints
from gated_delivery.webhooks.events import EVENTS

Handler = Callable[[StaffSite, Request, StaffUser], Awaitable[Response]]

#: The pages' own words; French fills any gap, as on the other staff pages.
WORDS: Final[dict[str, dict[str, str]]] = {
    "fr": {
        "title": "Webhooks",
        "add": "Ajouter un point de réception",
        "url": "URL (https)",
        "events": "Événements",
        "description": "Description",
        "include_buyer": "Inclure le nom et l'e-mail de l'acheteur",
        "secret_once": (
            "Secret de signature, affiché une seule fois : copiez-le dans votre récepteur."
        ),
        "active": "actif",
        "disabled": "désactivé",
        "none": "Aucun point de réception.",
        "log": "Journal de livraison",
        "attempt": "essai",
        "status": "statut",
        "duration": "durée",
        "answer": "réponse",
        "disable": "Désactiver",
        "enable": "Réactiver",
        "rotate": "Changer le secret (l'ancien reste valable 24 h)",
        "remove": "Supprimer",
        "send_again": "Renvoyer",
        "event_id": "Identifiant d'événement",
        "since": "Depuis (UTC)",
        "until": "Jusqu'à (UTC)",
        "send_range": "Renvoyer les événements de la période",
        "done": "Fait",
        "refused": "Refusé",
        "admins_only": "Réservé aux administrateurs",
    },
    "en": {
        "title": "Webhooks",
        "add": "Add an endpoint",
        "url": "URL (https)",
        "events": "Events",
        "description": "Description",
        "include_buyer": "Include the buyer's name and e-mail",
        "secret_once": "Signing secret, shown this once: copy it into your receiver.",
        "active": "active",
        "disabled": "disabled",
        "none": "No endpoint yet.",
        "log": "Delivery log",
        "attempt": "try",
        "status": "status",
        "duration": "duration",
        "answer": "answer",
        "disable": "Disable",
        "enable": "Enable",
        "rotate": "Rotate the secret (the old one works 24 h more)",
        "remove": "Remove",
        "send_again": "Send again",
        "event_id": "Event id",
        "since": "Since (UTC)",
        "until": "Until (UTC)",
        "send_range": "Send the range's events again",
        "done": "Done",
        "refused": "Refused",
        "admins_only": "Admins only",
    },
}


def _words(request: Request) -> dict[str, str]:
    return {**WORDS["fr"], **WORDS.get(i18n.language(request), {})}


def _admin_only(site: StaffSite, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        user = await site.current_user(request)
        if user is None:
            return site.login_redirect(request)
        if not user.is_admin:
            raise HTTPException(403, "only admins manage webhooks (gated-delivery staff set-admin)")
        return await handler(site, request, user)

    return endpoint


def _actor(user: StaffUser) -> str:
    return f"staff:{user.email}"


async def list_page(
    site: StaffSite,
    request: Request,
    user: StaffUser,
    *,
    refusal: str = "",
    status_code: int = 200,
) -> Response:
    """``GET /staff/webhooks``: every endpoint, and the form that adds one."""
    return site.render(
        request,
        "webhooks.html",
        {
            "w": _words(request),
            "endpoints": await endpoints.list_all(site.rt),
            "event_types": [e.name for e in EVENTS],
            "refusal": refusal,
        },
        status_code=status_code,
        user=user,
    )


async def add(site: StaffSite, request: Request, user: StaffUser) -> Response:
    """``POST /staff/webhooks``: add an endpoint; its page shows the secret this once."""
    form = await read_form(request)
    site.check_csrf(request, user, form.get("csrf"))
    chosen = [name for name in (e.name for e in EVENTS) if form.get(f"event:{name}")]
    try:
        endpoint, secret = await endpoints.add(
            site.rt,
            form.get("url", "").strip(),
            chosen,
            actor=_actor(user),
            description=form.get("description", ""),
            include_buyer=bool(form.get("include_buyer")),
        )
    except InvalidInput as refused:
        return await list_page(site, request, user, refusal=str(refused), status_code=400)
    return await detail(site, request, user, endpoint_id=endpoint.id, secret=secret)


async def detail(
    site: StaffSite,
    request: Request,
    user: StaffUser,
    *,
    endpoint_id: str = "",
    secret: str = "",
    refusal: str = "",
    status_code: int = 200,
) -> Response:
    """``GET /staff/webhooks/{endpoint_id}``: the endpoint, its log, its actions."""
    endpoint_id = endpoint_id or request.path_params["endpoint_id"]
    endpoint = await endpoints.get(site.rt, endpoint_id)
    context: dict[str, Any] = {
        "w": _words(request),
        "endpoint": endpoint,
        "log": await endpoints.delivery_log(site.rt, endpoint_id),
        "secret": secret,
        "refusal": refusal,
        # only the actions that redirect here: a crafted link puts no text on a staff page
        "notice": _done(request),
    }
    # the page may show a secret: render() already forbids caching it
    return site.render(request, "webhook.html", context, status_code=status_code, user=user)


#: The actions that come back to the endpoint's page with ``?done=<action>``.
DONE_ACTIONS: Final = frozenset({"disable", "enable", "send-again", "send-again-range"})


def _done(request: Request) -> str:
    done = request.query_params.get("done", "")
    return done if done in DONE_ACTIONS else ""


def _when(form: dict[str, str], name: str) -> datetime:
    try:
        value = datetime.fromisoformat(form.get(name, ""))
    except ValueError:
        raise InvalidInput(f"{name}: give a date and time like 2026-12-04T10:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def act(site: StaffSite, request: Request, user: StaffUser) -> Response:
    """``POST /staff/webhooks/{endpoint_id}/{action}``: one action, then the page again."""
    form = await read_form(request)
    site.check_csrf(request, user, form.get("csrf"))
    endpoint_id, action = request.path_params["endpoint_id"], request.path_params["action"]
    rt, actor = site.rt, _actor(user)
    try:
        if action == "disable":
            await endpoints.disable(rt, endpoint_id, actor=actor)
        elif action == "enable":
            await endpoints.enable(rt, endpoint_id, actor=actor)
        elif action == "rotate-secret":
            secret = await endpoints.rotate_secret(rt, endpoint_id, actor=actor)
            return await detail(site, request, user, endpoint_id=endpoint_id, secret=secret)
        elif action == "remove":
            await endpoints.remove(rt, endpoint_id, actor=actor)
            return RedirectResponse(site.url(request, "/webhooks"), status_code=303)
        elif action == "send-again":
            await endpoints.send_again(
                rt, endpoint_id, form.get("event_id", "").strip(), actor=actor
            )
        elif action == "send-again-range":
            since, until = _when(form, "since"), _when(form, "until")
            await endpoints.send_again_between(rt, endpoint_id, since, until, actor=actor)
        else:
            raise HTTPException(404, f"no webhook action {action[:40]!r}")
    except (ActionRefused, InvalidInput) as refused:
        return await detail(
            site, request, user, endpoint_id=endpoint_id, refusal=str(refused), status_code=409
        )
    target = site.url(request, f"/webhooks/{endpoint_id}?done={action}")
    return RedirectResponse(target, status_code=303)


def routes(site: StaffSite) -> list[BaseRoute]:
    """The webhook pages, relative to the staff pages' mount point."""
    return [
        Route("/webhooks", _admin_only(site, list_page), methods=["GET"]),
        Route("/webhooks", _admin_only(site, add), methods=["POST"]),
        Route("/webhooks/{endpoint_id}", _admin_only(site, detail), methods=["GET"]),
        Route("/webhooks/{endpoint_id}/{action}", _admin_only(site, act), methods=["POST"]),
    ]
