"""Models (models.py): UTC datetimes, enums by value, constraints that guard invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState


async def test_datetimes_come_back_aware_in_utc(gd_runtime: Runtime, gd_order: Order) -> None:
    dakar_evening = datetime(2026, 5, 1, 23, 30, tzinfo=timezone(timedelta(hours=1)))
    async with gd_runtime.db.transaction() as session:
        order = await session.get(Order, gd_order.id)
        assert order is not None
        order.paid_at = dakar_evening
    async with gd_runtime.db.transaction() as session:
        paid_at = (await session.execute(sa.select(Order.paid_at))).scalar_one()
    assert paid_at == dakar_evening
    assert paid_at.tzinfo is not None
    assert paid_at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(gd_runtime: Runtime, gd_order: Order) -> None:
    naive = datetime(2026, 5, 1, 12, 0)
    async with gd_runtime.db.transaction() as session:
        with pytest.raises(StatementError, match="naive datetime refused"):
            await session.execute(sa.update(Order).values(paid_at=naive))


async def test_enums_are_stored_by_value(gd_runtime: Runtime, gd_order: Order) -> None:
    async with gd_runtime.db.transaction() as session:
        raw = (
            await session.execute(sa.text("SELECT payment_status, fulfilment_status FROM gd_order"))
        ).one()
    assert tuple(raw) == ("unpaid", "received")


async def test_an_order_has_at_most_one_succeeded_attempt(
    gd_runtime: Runtime, gd_order: Order
) -> None:
    now = datetime.now(UTC)

    def attempt() -> PaymentAttempt:
        return PaymentAttempt(
            order_id=gd_order.id,
            provider="fake",
            amount_minor=5000,
            currency="XOF",
            state=AttemptState.SUCCEEDED,
            created_at=now,
            updated_at=now,
        )

    async with gd_runtime.db.transaction() as session:
        session.add(attempt())
    with pytest.raises(IntegrityError):
        async with gd_runtime.db.transaction() as session:
            session.add(attempt())
