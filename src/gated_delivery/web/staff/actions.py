"""Staff actions on an order: each a guarded call to the core's own operation.

Every action needs a logged-in staff user (else a redirect to the login page) and the form's
CSRF token (else 403). A refusal from the core (wrong state, missing reason) is shown on the
order's page with status 409; the core guarantees nothing was changed. The staff user is the
actor of every audit event the action writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gated_delivery import delivery, fulfilment, reconcile, refunds, review
from gated_delivery.errors import ActionRefused, IllegalTransition
from gated_delivery.plugin_types import StaffUser
from gated_delivery.uploads import FINAL_LIMITS, receive_upload, with_archive_settings
from gated_delivery.web.staff.pages import order_detail
from gated_delivery.web.staff.site import StaffSite, read_form

Action = Callable[[StaffSite, str, dict[str, str], str], Awaitable[str]]


def actor_of(user: StaffUser) -> str:
    """How a staff user appears in the audit trail."""
    return f"staff:{user.email}"


async def run_action(site: StaffSite, request: Request, action: Action) -> Response:
    """Log-in check, CSRF check, then ``action``; its refusal shown, its success redirected."""
    user = await site.current_user(request)
    if user is None:
        return site.login_redirect(request)
    form = await read_form(request)
    site.check_csrf(request, user, form.get("csrf"))
    order_id = request.path_params["order_id"]
    try:
        done = await action(site, order_id, form, actor_of(user))
    except (ActionRefused, IllegalTransition) as refused:
        return await order_detail(site, request, user, refusal=str(refused), status_code=409)
    return RedirectResponse(site.url(request, f"/orders/{order_id}?done={done}"), status_code=303)


async def publish(site: StaffSite, order_id: str, form: dict[str, str], actor: str) -> str:
    """Publish and mail the link; a second publish sends nothing (the core says so)."""
    sent = await delivery.publish(site.rt, order_id, actor=actor)
    site.rt.wake_worker()
    return "published" if sent else "already_published"


async def resend(site: StaffSite, order_id: str, form: dict[str, str], actor: str) -> str:
    """Mail a fresh link to the order's own address."""
    await delivery.resend(site.rt, order_id, actor=actor)
    return "resent"


async def revoke(site: StaffSite, order_id: str, form: dict[str, str], actor: str) -> str:
    """Revoke the order's fulfilment and links (a reason is required)."""
    await delivery.revoke(site.rt, order_id, actor=actor, reason=form.get("reason", ""))
    return "revoked"


async def retry_generation(site: StaffSite, order_id: str, form: dict[str, str], actor: str) -> str:
    """Queue a new generation round after a failure."""
    await fulfilment.retry_generation(site.rt, order_id, actor=actor)
    return "retried"


async def recheck(site: StaffSite, order_id: str, form: dict[str, str], actor: str) -> str:
    """Ask the provider now about every open attempt of the order."""
    await reconcile.recheck_order(site.rt, order_id, actor=actor)
    return "rechecked"


async def accept_review(site: StaffSite, order_id: str, form: dict[str, str], actor: str) -> str:
    """Accept a REVIEW attempt as the payment of the order."""
    await review.accept_as_paid(
        site.rt, order_id, form.get("attempt_id", ""), actor=actor, reason=form.get("reason", "")
    )
    return "accepted"


async def refund_review(site: StaffSite, order_id: str, form: dict[str, str], actor: str) -> str:
    """Record that a REVIEW attempt's money was returned."""
    await review.mark_refunded(
        site.rt, order_id, form.get("attempt_id", ""), actor=actor, reason=form.get("reason", "")
    )
    return "refunded"


async def refund_order(site: StaffSite, order_id: str, form: dict[str, str], actor: str) -> str:
    """Refund a paid order, through the provider when it can; the page says which."""
    kind = await refunds.refund_order(site.rt, order_id, actor=actor, reason=form.get("reason", ""))
    return f"refunded_{kind.value}"


async def upload_final(site: StaffSite, request: Request) -> Response:
    """``POST /staff/orders/{order_id}/final``: stream the file in, then hand it to the core.

    The multipart body is read by ``receive_upload`` (limits and type checked while reading)
    into a staging file; the CSRF token is checked before the core sees the file, and the
    staging file is deleted whatever happens.
    """
    user = await site.current_user(request)
    if user is None:
        return site.login_redirect(request)
    rt = site.rt
    order_id = request.path_params["order_id"]
    limits = with_archive_settings(FINAL_LIMITS, rt.settings)
    upload = await receive_upload(request, rt.storage, limits, key_prefix="staff-upload")
    try:
        site.check_csrf(request, user, upload.fields.get("csrf"))
        if not upload.files:
            return await order_detail(
                site, request, user, refusal="choose a file to upload", status_code=400
            )
        staged = upload.files[0]
        try:
            await delivery.upload_final(
                rt,
                order_id,
                _chunks(site, staged.key),
                filename=staged.filename,
                media_type=staged.media_type,
                actor=actor_of(user),
            )
        except (ActionRefused, IllegalTransition) as refused:
            return await order_detail(site, request, user, refusal=str(refused), status_code=409)
    finally:
        with anyio.CancelScope(shield=True):
            for received in upload.files:
                await rt.storage.delete(received.key)
    return RedirectResponse(site.url(request, f"/orders/{order_id}?done=uploaded"), status_code=303)


def _chunks(site: StaffSite, key: str) -> AsyncIterator[bytes]:
    return site.rt.storage.open(key)


ACTIONS: Final[dict[str, Action]] = {
    "publish": publish,
    "resend": resend,
    "revoke": revoke,
    "retry-generation": retry_generation,
    "recheck": recheck,
    "review/accept": accept_review,
    "review/refund": refund_review,
    "refund": refund_order,
}
