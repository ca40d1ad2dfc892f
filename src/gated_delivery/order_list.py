"""The staff orders list: orders newest first, filtered, searched and paginated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import sqlalchemy as sa

from gated_delivery import overview
from gated_delivery.models import Order, Product
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState, PaymentStatus

PAGE_SIZE: Final = 25


@dataclass(frozen=True)
class OrderFilter:
    """What the staff asked for; an empty field does not filter."""

    payment: PaymentStatus | None = None
    fulfilment: FulfilmentState | None = None
    product: str = ""
    date_from: date | None = None
    date_to: date | None = None
    #: an exact order id, or a part of the buyer's e-mail address
    q: str = ""


@dataclass(frozen=True)
class OrderPage:
    """One page of the list and the figures around it."""

    orders: list[Order]
    matching: int
    pages: int
    needs_action: dict[str, int]
    by_payment: dict[PaymentStatus, int]
    products: list[str]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _where(wanted: OrderFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if wanted.payment:
        where.append(Order.payment_status == wanted.payment)
    if wanted.fulfilment:
        where.append(Order.fulfilment_status == wanted.fulfilment)
    if wanted.product:
        where.append(Product.slug == wanted.product)
    if wanted.date_from:
        where.append(Order.created_at >= _midnight(wanted.date_from))
    if wanted.date_to:
        where.append(Order.created_at < _midnight(wanted.date_to) + timedelta(days=1))
    if wanted.q:
        # LIKE wildcards typed by staff are matched literally
        needle = wanted.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(
            sa.or_(
                Order.id == wanted.q,
                sa.func.lower(Order.buyer_email).like(f"%{needle}%", escape="\\"),
            )
        )
    return where


async def find_orders(rt: Runtime, wanted: OrderFilter, page: int) -> OrderPage:
    """Page ``page`` (from 1) of the orders ``wanted`` names, with the list's figures."""
    base = sa.select(Order).join(Product, Product.id == Order.product_id).where(*_where(wanted))
    newest_first = base.order_by(Order.created_at.desc(), Order.id.desc())
    async with rt.db.transaction() as session:
        count = sa.select(sa.func.count()).select_from(base.order_by(None).subquery())
        matching = int((await session.execute(count)).scalar_one())
        shown = newest_first.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        orders = list((await session.execute(shown)).scalars())
        waiting = await overview.needs_action(
            session, rt.clock.now(), timedelta(minutes=rt.settings.reconcile_min_age_minutes)
        )
        by_status = sa.select(Order.payment_status, sa.func.count()).group_by(Order.payment_status)
        by_payment = {status: int(n) for status, n in await session.execute(by_status)}
        slugs = sa.select(Product.slug).order_by(Product.slug)
        products = list((await session.execute(slugs)).scalars())
    return OrderPage(
        orders=orders,
        matching=matching,
        pages=max((matching + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        needs_action=waiting,
        by_payment=by_payment,
        products=products,
    )
