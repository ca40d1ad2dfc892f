"""The overview's figures against a seeded database and a frozen clock (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from gated_delivery import overview
from gated_delivery.models import Job, JobState, PaymentAttempt, Product
from gated_delivery.money import Money
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, FulfilmentState
from gated_delivery.testing import FrozenClock
from gated_delivery.testing.seeding import SeededOrder, seed_orders

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
MIN_AGE = timedelta(minutes=15)


@pytest.fixture
def gd_clock() -> FrozenClock:
    return FrozenClock(NOW)


def ago(**kwargs: float) -> datetime:
    return NOW - timedelta(**kwargs)


SEEDS = [
    # today: paid, published an hour later; and an unpaid one
    SeededOrder(ago(hours=2), paid_at=ago(hours=1, minutes=50), published_at=ago(minutes=50)),
    SeededOrder(ago(hours=1)),
    # 3 days ago: paid, published 25 hours later
    SeededOrder(
        ago(days=3), amount_minor=25000, paid_at=ago(days=3), published_at=ago(days=3, hours=-25)
    ),
    # 5 days ago: paid then refunded (no revenue, not converted)
    SeededOrder(ago(days=5), amount_minor=9000, paid_at=ago(days=5), is_refunded=True),
    # 10 days ago, in euros: published 3 hours after payment
    SeededOrder(
        ago(days=10),
        amount_minor=1250,
        currency="EUR",
        paid_at=ago(days=10),
        published_at=ago(days=10, hours=-3),
    ),
    # 40 days ago: outside every window, waiting for staff review
    SeededOrder(ago(days=40), paid_at=ago(days=40), fulfilment=FulfilmentState.DRAFT_READY),
]


async def seed(rt: Runtime, product: Product) -> list[str]:
    async with rt.db.transaction() as session:
        ids = await seed_orders(session, product.id, "std", SEEDS)
        unpaid = ids[1]
        session.add_all(
            [
                PaymentAttempt(
                    order_id=unpaid,
                    provider="fake",
                    state=AttemptState.PENDING,
                    amount_minor=5000,
                    currency="XOF",
                    created_at=ago(minutes=55),
                ),
                PaymentAttempt(
                    order_id=unpaid,
                    provider="fake",
                    state=AttemptState.CREATED,
                    amount_minor=5000,
                    currency="XOF",
                    created_at=ago(minutes=5),
                ),
                Job(kind="mail", state=JobState.DEAD, created_at=ago(days=1)),
            ]
        )
    return ids


async def build(rt: Runtime, tz: ZoneInfo = UTC_ZONE) -> overview.Overview:
    async with rt.db.transaction() as session:
        return await overview.build(session, now=NOW, tz=tz, min_age=MIN_AGE)


async def test_windows_count_orders_revenue_conversion_and_delivery_time(
    gd_runtime: Runtime, gd_product: Product
) -> None:
    await seed(gd_runtime, gd_product)
    today, week, month = (await build(gd_runtime)).windows
    assert (today.orders, today.paid, today.revenue) == (2, 1, (Money(5000, "XOF"),))
    assert today.conversion == Fraction(1, 2)
    assert today.median_to_delivery == timedelta(hours=1)
    assert (week.orders, week.paid, week.revenue) == (4, 2, (Money(30000, "XOF"),))
    assert week.conversion == Fraction(2, 4)
    assert week.median_to_delivery == timedelta(hours=1)  # the lower middle of 1 h and 25 h
    assert (month.orders, month.paid) == (5, 3)
    assert month.revenue == (Money(1250, "EUR"), Money(30000, "XOF"))
    assert month.conversion == Fraction(3, 5)
    assert month.median_to_delivery == timedelta(hours=3)


async def test_what_waits_and_what_is_stale(gd_runtime: Runtime, gd_product: Product) -> None:
    await seed(gd_runtime, gd_product)
    found = await build(gd_runtime)
    assert found.waiting == {
        "review_payments": 0,
        "draft_ready": 1,
        "generation_failed": 0,
        "stale_payments": 1,  # the attempt of 55 minutes ago, not the one of 5 minutes
        "dead_jobs": 1,
    }
    assert found.by_payment["paid"] == 4
    assert found.by_payment["refunded"] == 1
    assert found.by_fulfilment["published"] == 3
    assert sum(found.by_fulfilment.values()) == len(SEEDS)


async def test_one_day_per_point_and_delivery_buckets(
    gd_runtime: Runtime, gd_product: Product
) -> None:
    await seed(gd_runtime, gd_product)
    found = await build(gd_runtime)
    assert len(found.days) == 30
    assert found.days[-1].day == NOW.date()
    assert [d.day for d in found.days] == sorted({d.day for d in found.days})
    by_day = {d.day: d for d in found.days}
    assert by_day[NOW.date()].paid == 1
    assert by_day[(NOW - timedelta(days=3)).date()].revenue == {"XOF": 25000}
    assert by_day[(NOW - timedelta(days=10)).date()].revenue == {"EUR": 1250}
    assert sum(d.paid for d in found.days) == 3
    # under 1 h, under 6 h, under 24 h, under 72 h, more
    assert found.delivery_buckets == (0, 2, 0, 1, 0)


async def test_days_are_the_shop_days(gd_runtime: Runtime, gd_product: Product) -> None:
    async with gd_runtime.db.transaction() as session:
        # 23:30 UTC yesterday is already today in Lagos (UTC+1), still yesterday in UTC
        await seed_orders(
            session,
            gd_product.id,
            "std",
            [SeededOrder(datetime(2026, 12, 3, 23, 30, tzinfo=UTC), paid_at=ago(hours=9))],
        )
    assert (await build(gd_runtime)).windows[0].orders == 0
    assert (await build(gd_runtime, ZoneInfo("Africa/Lagos"))).windows[0].orders == 1
