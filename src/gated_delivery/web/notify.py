"""The webhook intake and the buyer's return page.

Neither moves a payment: the intake stores the notification and queues a server-to-server
check; the return page only shows the status (and queues a check, at most once a minute).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from gated_delivery import history, metrics, safe_json
from gated_delivery.errors import NotFound, NotificationRejected
from gated_delivery.payments import buyer_returned, receive_notification
from gated_delivery.plugin_types import RawNotification
from gated_delivery.rejections import record_rejection
from gated_delivery.web.body import read_limited
from gated_delivery.web.deps import client_ip, runtime, url_for_app
from gated_delivery.web.status import buyer_message
from gated_delivery.web.templating import templates


async def notify(request: Request) -> Response:
    """``POST /payments/{provider}/notify`` (``GET`` answers the provider's ping)."""
    rt = runtime(request)
    provider = rt.provider(request.path_params["provider"])
    if request.method == "GET":
        return PlainTextResponse("ok")
    raw = RawNotification(
        provider=provider.name,
        method=request.method,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=await read_limited(request),
        path_params=dict(request.path_params),
    )
    try:
        if safe_json.depth(raw.body) > safe_json.MAX_DEPTH:
            # the same answer for every provider, before any of them parses the body
            raise NotificationRejected(f"body nests deeper than {safe_json.MAX_DEPTH} levels")
        is_new = await receive_notification(rt, provider, raw)
    except NotificationRejected as exc:
        metrics.NOTIFICATIONS.labels(provider.name, "refused").inc()
        metrics.REFUSALS.labels(provider.name, metrics.reason_label(str(exc))).inc()
        # audited and logged one by one up to a limit per client; past it, only counted
        order_hint = request.query_params.get("order")
        await record_rejection(rt, provider.name, str(exc), order_hint, client_ip(request))
        return PlainTextResponse(f"notification rejected: {exc}", status_code=400)
    if is_new:
        rt.wake_worker()
    return PlainTextResponse("ok" if is_new else "ok (duplicate)")


async def return_page(request: Request) -> Response:
    """``GET, POST /payments/{provider}/return?order=<id>``: status only, never delivery."""
    rt = runtime(request)
    rt.provider(request.path_params["provider"])
    order_id = request.query_params.get("order", "")
    if not order_id:
        raise NotFound("the return address names no order (?order=...)")
    order = await buyer_returned(rt, order_id)
    failed_try = await history.last_try_of(rt, order)
    return templates.TemplateResponse(
        request,
        "return.html",
        {
            "order_id": order.id,
            "message": buyer_message(order.payment_status, order.fulfilment_status),
            "last_try": failed_try,
            "status_url": url_for_app(request, f"/orders/{order.id}/status"),
            "script_url": url_for_app(request, "/static/return-status.js"),
        },
    )
