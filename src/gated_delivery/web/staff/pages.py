"""The staff pages that read: the orders list and one order's detail, and staff downloads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gated_delivery import answers, delivery, overview, plugins
from gated_delivery.errors import NotFound
from gated_delivery.models import (
    Asset,
    AssetKind,
    AuditEvent,
    DownloadToken,
    Job,
    Order,
    PaymentAttempt,
    Product,
)
from gated_delivery.orders import get_order
from gated_delivery.plugin_types import StaffUser
from gated_delivery.states import OPEN_ATTEMPTS, AttemptState, FulfilmentState, PaymentStatus
from gated_delivery.web.staff import i18n
from gated_delivery.web.staff.site import StaffSite

PAGE_SIZE: Final = 25

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


def _where(filters: dict[str, str]) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if filters["payment"]:
        where.append(Order.payment_status == PaymentStatus(filters["payment"]))
    if filters["fulfilment"]:
        where.append(Order.fulfilment_status == FulfilmentState(filters["fulfilment"]))
    if filters["product"]:
        where.append(Product.slug == filters["product"])
    start, end = _day(filters["date_from"]), _day(filters["date_to"])
    if start:
        where.append(Order.created_at >= datetime(start.year, start.month, start.day, tzinfo=UTC))
    if end:
        until = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
        where.append(Order.created_at < until)
    if filters["q"]:
        # LIKE wildcards typed by staff are matched literally
        needle = filters["q"].lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(
            sa.or_(
                Order.id == filters["q"],
                sa.func.lower(Order.buyer_email).like(f"%{needle}%", escape="\\"),
            )
        )
    return where


async def orders_list(site: StaffSite, request: Request, user: StaffUser) -> Response:
    """``GET /staff/orders``: orders, newest first, filtered, searched and paginated."""
    filters = _filters(request)
    page_text = request.query_params.get("page", "1")
    page = max(int(page_text), 1) if page_text.isdigit() else 1
    where = _where(filters)
    async with site.rt.db.transaction() as session:
        base = sa.select(Order).join(Product, Product.id == Order.product_id).where(*where)
        matching = (
            await session.execute(
                sa.select(sa.func.count()).select_from(base.order_by(None).subquery())
            )
        ).scalar_one()
        orders = list(
            (
                await session.execute(
                    base.order_by(Order.created_at.desc(), Order.id.desc())
                    .limit(PAGE_SIZE)
                    .offset((page - 1) * PAGE_SIZE)
                )
            ).scalars()
        )
        counts = await overview.needs_action(
            session,
            site.rt.clock.now(),
            timedelta(minutes=site.rt.settings.reconcile_min_age_minutes),
        )
        by_payment: dict[PaymentStatus, int] = {
            status: int(n)
            for status, n in await session.execute(
                sa.select(Order.payment_status, sa.func.count()).group_by(Order.payment_status)
            )
        }
        products = list(
            (await session.execute(sa.select(Product.slug).order_by(Product.slug))).scalars()
        )
    kept = {k: v for k, v in filters.items() if v}
    pages = max((int(matching) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return site.render(
        request,
        "orders.html",
        {
            "orders": orders,
            "filters": filters,
            "counts": counts,
            "by_payment": {s.value: by_payment.get(s, 0) for s in PaymentStatus},
            "payment_states": [s.value for s in PaymentStatus],
            "fulfilment_states": [s.value for s in FulfilmentState],
            "products": products,
            "badges": BADGES,
            "page": page,
            "pages": pages,
            "matching": matching,
            "prev_url": f"?{urlencode({**kept, 'page': page - 1})}" if page > 1 else "",
            "next_url": f"?{urlencode({**kept, 'page': page + 1})}" if page < pages else "",
        },
        user=user,
    )


async def order_context(site: StaffSite, order_id: str, lang: str) -> dict[str, Any]:
    """Everything the detail page shows about one order (its answers labelled in ``lang``)."""
    now = site.rt.clock.now()
    async with site.rt.db.transaction() as session:
        order = await get_order(session, order_id)

        async def rows(query: sa.Select[Any]) -> list[Any]:
            return list((await session.execute(query)).scalars())

        attempts = await rows(
            sa.select(PaymentAttempt)
            .where(PaymentAttempt.order_id == order.id)
            .order_by(PaymentAttempt.created_at)
        )
        assets = await rows(
            sa.select(Asset).where(Asset.order_id == order.id).order_by(Asset.created_at)
        )
        tokens = await rows(
            sa.select(DownloadToken)
            .where(
                DownloadToken.order_id == order.id,
                DownloadToken.revoked_at.is_(None),
                DownloadToken.expires_at > now,
                DownloadToken.use_count < DownloadToken.max_uses,
            )
            .order_by(DownloadToken.created_at)
        )
        jobs = await rows(sa.select(Job).where(Job.order_id == order.id).order_by(Job.id))
        events = await rows(
            sa.select(AuditEvent).where(AuditEvent.order_id == order.id).order_by(AuditEvent.id)
        )
    schema = plugins.form_schema(site.rt.pm, order.product.slug, lang)
    return {
        "order": order,
        "answers": answers.present(schema, order.answers),
        "tier_label": next(
            (t.label for t in order.product.tiers if t.tier_id == order.tier_id), ""
        ),
        "attempt_providers": {a.id: a.provider for a in attempts},
        "attempts": attempts,
        "uploads": [a for a in assets if a.kind.value == "upload"],
        "drafts": [a for a in assets if a.kind.value == "draft"],
        "finals": [a for a in assets if a.kind.value == "final"],
        "tokens": tokens,
        "jobs": jobs,
        "events": events,
        "badges": BADGES,
        "has_review": any(a.state is AttemptState.REVIEW for a in attempts),
        "allowed": delivery.staff_actions(
            order,
            has_final=any(a.kind is AssetKind.FINAL and a.superseded_at is None for a in assets),
            open_attempts=sum(a.state in OPEN_ATTEMPTS for a in attempts),
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
    async with site.rt.db.transaction() as session:
        asset = await session.get(Asset, request.path_params["asset_id"])
    if asset is None or asset.order_id is None:
        raise NotFound("no such file")
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
