"""The staff pages that read: the orders list and one order's detail, and staff downloads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any, Final
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gated_delivery import answers, delivery, history, order_list, plugins
from gated_delivery.models import (
    AssetKind,
)
from gated_delivery.plugin_types import StaffUser
from gated_delivery.states import FulfilmentState, PaymentStatus
from gated_delivery.web.staff import i18n
from gated_delivery.web.staff.site import StaffSite

#: Badge colours: what needs a person is amber or red, what is done is green.
BADGES: Final = {
    "unpaid": "grey",
    "pending": "blue",
    "paid": "green",
    "failed": "red",
    "review": "amber",
    "refunded": "grey",
    "received": "grey",
    "queued": "blue",
    "generating": "blue",
    "draft_ready": "amber",
    "generation_failed": "red",
    "final_uploaded": "blue",
    "published": "green",
    "delivered": "green",
    "revoked": "grey",
    "created": "grey",
    "succeeded": "green",
    "cancelled": "grey",
    "expired": "grey",
    "done": "green",
    "running": "blue",
    "dead": "red",
}


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {
        "payment": q.get("payment", "") if q.get("payment") in set(PaymentStatus) else "",
        "fulfilment": q.get("fulfilment", "")
        if q.get("fulfilment") in set(FulfilmentState)
        else "",
        "product": q.get("product", "")[:80],
        "date_from": q.get("date_from", "") if _day(q.get("date_from", "")) else "",
        "date_to": q.get("date_to", "") if _day(q.get("date_to", "")) else "",
        "q": q.get("q", "").strip()[:320],
    }


def _wanted(filters: dict[str, str]) -> order_list.OrderFilter:
    return order_list.OrderFilter(
        payment=PaymentStatus(filters["payment"]) if filters["payment"] else None,
        fulfilment=FulfilmentState(filters["fulfilment"]) if filters["fulfilment"] else None,
        product=filters["product"],
        date_from=_day(filters["date_from"]),
        date_to=_day(filters["date_to"]),
        q=filters["q"],
    )


async def orders_list(site: StaffSite, request: Request, user: StaffUser) -> Response:
    """``GET /staff/orders``: orders, newest first, filtered, searched and paginated."""
    filters = _filters(request)
    page_text = request.query_params.get("page", "1")
    page = max(int(page_text), 1) if page_text.isdigit() else 1
    found = await order_list.find_orders(site.rt, _wanted(filters), page)
    kept = {k: v for k, v in filters.items() if v}
    return site.render(
        request,
        "orders.html",
        {
            "orders": found.orders,
            "filters": filters,
            "counts": found.needs_action,
            "by_payment": {s.value: found.by_payment.get(s, 0) for s in PaymentStatus},
            "payment_states": [s.value for s in PaymentStatus],
            "fulfilment_states": [s.value for s in FulfilmentState],
            "products": found.products,
            "badges": BADGES,
            "page": page,
            "pages": found.pages,
            "matching": found.matching,
            "prev_url": f"?{urlencode({**kept, 'page': page - 1})}" if page > 1 else "",
            "next_url": f"?{urlencode({**kept, 'page': page + 1})}" if page < found.pages else "",
        },
        user=user,
    )


async def order_context(site: StaffSite, order_id: str, lang: str) -> dict[str, Any]:
    """Everything the detail page shows about one order (its answers labelled in ``lang``)."""
    found = await history.read(site.rt, order_id)
    order = found.order
    schema = plugins.form_schema(site.rt.pm, order.product.slug, lang)
    return {
        "order": order,
        "answers": answers.present(schema, order.answers),
        "tier_label": next(
            (t.label for t in order.product.tiers if t.tier_id == order.tier_id), ""
        ),
        "attempt_providers": {a.id: a.provider for a in found.attempts},
        "attempts": found.attempts,
        "uploads": found.assets_of(AssetKind.UPLOAD),
        "drafts": found.assets_of(AssetKind.DRAFT),
        "finals": found.assets_of(AssetKind.FINAL),
        "tokens": found.live_tokens(site.rt.clock.now()),
        "jobs": found.jobs,
        "events": found.events,
        "badges": BADGES,
        "has_review": found.has_review,
        "allowed": delivery.staff_actions(
            order, has_final=found.has_final, open_attempts=found.open_attempts
        ),
    }


#: What ``?done=`` may name after a staff action; anything else shows no notice at all,
#: so that a crafted link cannot put its own text on a trusted page.
DONE_NOTICES: Final = frozenset(
    {
        "published",
        "already_published",
        "resent",
        "revoked",
        "retried",
        "rechecked",
        "accepted",
        "refunded",
        "refunded_through_provider",
        "refunded_recorded",
        "uploaded",
    }
)


def done_notice(request: Request) -> str:
    """The ``?done=`` key of the request if it is one of ``DONE_NOTICES``, else nothing."""
    done = request.query_params.get("done", "")
    return done if done in DONE_NOTICES else ""


async def order_detail(
    site: StaffSite,
    request: Request,
    user: StaffUser,
    *,
    notice: str = "",
    refusal: str = "",
    status_code: int = 200,
) -> Response:
    """``GET /staff/orders/{order_id}``: the order, its files, payments, links, jobs, history."""
    context = await order_context(site, request.path_params["order_id"], i18n.language(request))
    return site.render(
        request,
        "order.html",
        {**context, "notice": notice or done_notice(request), "refusal": refusal},
        status_code=status_code,
        user=user,
    )


async def asset_download(site: StaffSite, request: Request, user: StaffUser) -> Response:
    """``GET /staff/assets/{asset_id}``: a staff download of an order's file (no use counted)."""
    asset = await history.order_file(site.rt, request.path_params["asset_id"])
    # the key comes from the database row, never from the request
    return StreamingResponse(
        _stream(site, asset.key),
        media_type=asset.media_type,
        headers={
            "content-disposition": f"attachment; filename*=UTF-8''{quote(asset.filename, safe='')}",
            "content-length": str(asset.size_bytes),
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


async def _stream(site: StaffSite, key: str) -> AsyncIterator[bytes]:
    async for chunk in site.rt.storage.open(key):
        yield chunk
