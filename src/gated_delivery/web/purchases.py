"""``/purchases`` ("Mes achats"): ask for an e-mail link, open it, see and re-send orders.

Every answer to "send me a link" is the same page, byte for byte, whether or not the
address bought anything. The session cookie is scoped to ``/purchases`` and read by these
routes only, so it opens nothing else.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gated_delivery import purchases
from gated_delivery.errors import ActionRefused, InvalidInput
from gated_delivery.web.deps import runtime, url_for_app
from gated_delivery.web.staff.site import client_ip, read_form
from gated_delivery.web.templating import templates

COOKIE: Final = "gd_purchases"
NO_STORE: Final = {"cache-control": "no-store", "referrer-policy": "no-referrer"}

PAYMENT_WORDS: Final = {
    "unpaid": ("en attente de paiement", "awaiting payment"),
    "pending": ("paiement en cours de confirmation", "payment being confirmed"),
    "paid": ("payé", "paid"),
    "failed": ("paiement échoué", "payment failed"),
    "review": ("paiement en vérification", "payment under review"),
    "refunded": ("remboursé", "refunded"),
}
FULFILMENT_WORDS: Final = {
    "received": ("reçue", "received"),
    "queued": ("en préparation", "being prepared"),
    "generating": ("en préparation", "being prepared"),
    "generation_failed": ("en préparation", "being prepared"),
    "draft_ready": ("en relecture", "being reviewed"),
    "final_uploaded": ("en relecture", "being reviewed"),
    "published": ("prête — lien envoyé", "ready — link sent"),
    "delivered": ("livrée", "delivered"),
    "revoked": ("annulée", "cancelled"),
}


def routes() -> list[BaseRoute]:
    """The routes ``create_app`` mounts when ``GD_PURCHASES_ENABLED`` is on."""
    return [
        Route("/purchases", ask_page, methods=["GET"]),
        Route("/purchases", ask, methods=["POST"]),
        Route("/purchases/open/{token}", open_page, methods=["GET", "HEAD"]),
        Route("/purchases/open/{token}", open_link, methods=["POST"]),
        Route("/purchases/orders", orders_page, methods=["GET"]),
        Route("/purchases/orders/{order_id}/link", send_link, methods=["POST"]),
    ]


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    base = {"base": url_for_app(request, "/purchases")}
    return templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status_code, headers=NO_STORE
    )


async def ask_page(request: Request) -> Response:
    """``GET /purchases``: the address form."""
    return _page(request, "purchases_ask.html", {"error": "", "email": ""})


async def ask(request: Request) -> Response:
    """``POST /purchases``: mail a link if the address has orders; the same answer always."""
    rt = runtime(request)
    fields = await read_form(request)
    email = fields.get("email", "")
    try:
        await purchases.request_link(rt, email, client_ip(request))
    except InvalidInput:
        error = "Cette adresse e-mail n'est pas valide. This e-mail address is not valid."
        return _page(request, "purchases_ask.html", {"error": error, "email": email}, 400)
    return _page(request, "purchases_sent.html", {})


def _refused(request: Request, problem: str, status_code: int) -> Response:
    return _page(request, "purchases_refused.html", {"problem": problem}, status_code)


async def open_page(request: Request) -> Response:
    """``GET``/``HEAD /purchases/open/{token}``: a button; mail scanners use nothing up."""
    rt = runtime(request)
    link_id = purchases.unsign(rt, request.path_params["token"])
    try:
        async with rt.db.transaction() as session:
            await purchases.check_link(session, link_id, rt.clock.now())
    except purchases.LinkRefused as refused:
        return _refused(request, refused.problem.value, refused.problem.status_code)
    return _page(request, "purchases_open.html", {})


async def open_link(request: Request) -> Response:
    """``POST /purchases/open/{token}``: use the link up and start a 30-minute session."""
    rt = runtime(request)
    try:
        session_value = await purchases.open_link(
            rt, purchases.unsign(rt, request.path_params["token"])
        )
    except purchases.LinkRefused as refused:
        return _refused(request, refused.problem.value, refused.problem.status_code)
    response = RedirectResponse(url_for_app(request, "/purchases/orders"), status_code=303)
    response.set_cookie(
        COOKIE,
        session_value,
        max_age=purchases.SESSION_MINUTES * 60,
        httponly=True,
        samesite="strict",
        secure=rt.settings.base_url.startswith("https://"),
        path=url_for_app(request, "/purchases"),
    )
    return response


async def orders_page(request: Request) -> Response:
    """``GET /purchases/orders``: the session's orders, a button for each delivered one."""
    rt = runtime(request)
    visit = await purchases.visit(rt, request.cookies.get(COOKIE))
    if visit is None:
        return _refused(request, "session", 401)
    listed = await purchases.list_purchases(rt, visit.email)
    return _page(
        request,
        "purchases_orders.html",
        {
            "email": visit.email,
            "purchases": listed,
            "payment_words": PAYMENT_WORDS,
            "fulfilment_words": FULFILMENT_WORDS,
            "form_token": purchases.form_token(rt, visit.link_id),
            "sent": request.query_params.get("sent", ""),
            "limited": request.query_params.get("limited", ""),
        },
    )


async def send_link(request: Request) -> Response:
    """``POST /purchases/orders/{order_id}/link``: mail a fresh download link for it."""
    rt = runtime(request)
    visit = await purchases.visit(rt, request.cookies.get(COOKIE))
    if visit is None:
        return _refused(request, "session", 401)
    fields = await read_form(request)
    if not purchases.form_token_ok(rt, visit.link_id, fields.get("form_token", "")):
        return _refused(request, "form", 403)
    order_id = request.path_params["order_id"]
    try:
        granted = await purchases.request_download_link(rt, visit, order_id)
    except ActionRefused:
        return _refused(request, "not_deliverable", 409)
    outcome = "sent" if granted else "limited"
    target = url_for_app(request, f"/purchases/orders?{outcome}={order_id}")
    return RedirectResponse(target, status_code=303)
