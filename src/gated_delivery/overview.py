"""The figures of the staff overview: what came in, what was paid, what waits for a person.

Days are the shop's days (``GD_TIMEZONE``): "today" starts at local midnight, "7 days" is
today and the six days before. Rows are read for the longest window and counted here, so
the same code runs on SQLite and PostgreSQL without date functions of either.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from statistics import median_low
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery.db import AnySelect
from gated_delivery.models import AuditEvent, Job, JobState, Order, PaymentAttempt
from gated_delivery.money import Money
from gated_delivery.states import FULFILMENT, OPEN_ATTEMPTS, AttemptState, FulfilmentState
from gated_delivery.states import PaymentStatus as P

#: The windows of the overview, in days (1 is today).
WINDOWS: Final = (1, 7, 30)
#: Delivery-time buckets of the chart: upper bound in hours, then "more".
DELIVERY_BUCKETS_HOURS: Final = (1, 6, 24, 72)
#: Paid statuses whose money we keep (a refunded order's is gone).
KEPT: Final = frozenset({P.PAID})


@dataclass(frozen=True)
class Window:
    """The figures of one window."""

    days: int
    start: datetime
    orders: int
    paid: int
    revenue: tuple[Money, ...]
    #: orders created in the window and paid (not refunded), over those orders; None: none
    conversion: Fraction | None
    #: median time from payment to the link being sent, for orders published in the window
    median_to_delivery: timedelta | None


@dataclass(frozen=True)
class Day:
    """One shop day of the charts."""

    day: date
    paid: int
    revenue: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Overview:
    """Everything the overview page shows."""

    now: datetime
    windows: tuple[Window, ...]
    waiting: dict[str, int]
    days: tuple[Day, ...]
    by_payment: dict[str, int]
    by_fulfilment: dict[str, int]
    delivery_buckets: tuple[int, ...]


def day_start(now: datetime, tz: ZoneInfo, days_back: int = 0) -> datetime:
    """Local midnight ``days_back`` days before today, as an aware instant."""
    local = now.astimezone(tz).date() - timedelta(days=days_back)
    return datetime(local.year, local.month, local.day, tzinfo=tz)


async def needs_action(session: AsyncSession, now: datetime, min_age: timedelta) -> dict[str, int]:
    """Counts of what waits for a person, and of payments the reconciler should have settled."""

    async def count(query: sa.Select[Any]) -> int:
        return int((await session.execute(query)).scalar_one())

    total = sa.select(sa.func.count())
    return {
        "review_payments": await count(
            total.select_from(PaymentAttempt)
            .join(Order, Order.id == PaymentAttempt.order_id)
            .where(PaymentAttempt.state == AttemptState.REVIEW, Order.payment_status != P.REFUNDED)
        ),
        "draft_ready": await count(
            total.select_from(Order).where(Order.fulfilment_status == FulfilmentState.DRAFT_READY)
        ),
        "generation_failed": await count(
            total.select_from(Order).where(
                Order.fulfilment_status == FulfilmentState.GENERATION_FAILED
            )
        ),
        "stale_payments": await count(
            total.select_from(PaymentAttempt).where(
                PaymentAttempt.state.in_(list(OPEN_ATTEMPTS)),
                PaymentAttempt.created_at < now - min_age,
            )
        ),
        "dead_jobs": await count(total.select_from(Job).where(Job.state == JobState.DEAD)),
    }


async def build(
    session: AsyncSession, *, now: datetime, tz: ZoneInfo, min_age: timedelta
) -> Overview:
    """The overview as of ``now``; ``min_age`` is the reconciler's age for stale payments."""
    since = day_start(now, tz, max(WINDOWS) - 1)
    created = await _rows(
        session, sa.select(Order.created_at, Order.payment_status).where(Order.created_at >= since)
    )
    paid = await _rows(
        session,
        sa.select(Order.paid_at, Order.amount_minor, Order.currency).where(
            Order.paid_at >= since, Order.payment_status.in_(list(KEPT))
        ),
    )
    delivered = await _delivery_times(session, since)
    windows = tuple(
        _window(days, day_start(now, tz, days - 1), created, paid, delivered) for days in WINDOWS
    )
    return Overview(
        now=now,
        windows=windows,
        waiting=await needs_action(session, now, min_age),
        days=_days(now, tz, paid),
        by_payment=await _group(session, Order.payment_status, [s.value for s in P]),
        by_fulfilment=await _group(
            session, Order.fulfilment_status, [s.value for s in FulfilmentState]
        ),
        delivery_buckets=_buckets([spent for _at, spent in delivered]),
    )


async def _rows(session: AsyncSession, query: AnySelect) -> list[Sequence[Any]]:
    return [tuple(row) for row in await session.execute(query)]


async def _delivery_times(
    session: AsyncSession, since: datetime
) -> list[tuple[datetime, timedelta]]:
    """(published at, time since payment) of every order first published since ``since``."""
    first = (
        sa.select(AuditEvent.order_id, sa.func.min(AuditEvent.created_at).label("at"))
        .where(
            AuditEvent.machine == FULFILMENT.name,
            AuditEvent.event == "transition",
            AuditEvent.to_state == FulfilmentState.PUBLISHED.value,
        )
        .group_by(AuditEvent.order_id)
        .subquery()
    )
    rows = await session.execute(
        sa.select(first.c.at, Order.paid_at)
        .join(Order, Order.id == first.c.order_id)
        .where(Order.paid_at.is_not(None))
    )
    # min() keeps the column's type: both instants come back UTC-aware on every backend
    return [(at, at - paid_at) for at, paid_at in rows if at >= since]


def _window(
    days: int,
    start: datetime,
    created: list[Sequence[Any]],
    paid: list[Sequence[Any]],
    delivered: list[tuple[datetime, timedelta]],
) -> Window:
    made = [status for created_at, status in created if created_at >= start]
    revenue: dict[str, int] = defaultdict(int)
    paid_count = 0
    for paid_at, amount_minor, currency in paid:
        if paid_at >= start:
            paid_count += 1
            revenue[currency] += amount_minor
    spent = [s for at, s in delivered if at >= start]
    return Window(
        days=days,
        start=start,
        orders=len(made),
        paid=paid_count,
        revenue=tuple(Money(revenue[c], c) for c in sorted(revenue)),
        conversion=Fraction(sum(s in KEPT for s in made), len(made)) if made else None,
        median_to_delivery=median_low(spent) if spent else None,
    )


def _days(now: datetime, tz: ZoneInfo, paid: list[Sequence[Any]]) -> tuple[Day, ...]:
    first = now.astimezone(tz).date() - timedelta(days=max(WINDOWS) - 1)
    counts: Counter[date] = Counter()
    revenue: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for paid_at, amount_minor, currency in paid:
        day = paid_at.astimezone(tz).date()
        counts[day] += 1
        revenue[day][currency] += amount_minor
    return tuple(
        Day(day, counts[day], dict(revenue[day]))
        for day in (first + timedelta(days=n) for n in range(max(WINDOWS)))
    )


async def _group(session: AsyncSession, column: Any, values: list[str]) -> dict[str, int]:
    found = {
        str(getattr(state, "value", state)): int(n)
        for state, n in await session.execute(sa.select(column, sa.func.count()).group_by(column))
    }
    return {value: found.get(value, 0) for value in values}


def _buckets(spent: list[timedelta]) -> tuple[int, ...]:
    counts = [0] * (len(DELIVERY_BUCKETS_HOURS) + 1)
    for duration in spent:
        index = next(
            (i for i, h in enumerate(DELIVERY_BUCKETS_HOURS) if duration < timedelta(hours=h)),
            len(DELIVERY_BUCKETS_HOURS),
        )
        counts[index] += 1
    return tuple(counts)
