"""Refunding a paid order (refunds.py) with the core's fake provider, which cannot refund:
the refund is recorded, the order REFUNDED, its links revoked, the buyer mailed once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
import sqlalchemy as sa

from gated_delivery.errors import ActionRefused
from gated_delivery.models import DownloadToken, Job, Order
from gated_delivery.refunds import RefundKind, refund_order
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState, PaymentStatus
from gated_delivery.testing import FakeProvider, pay_with_fake

RunJobs = Callable[[], Awaitable[int]]


async def refund_mails(rt: Runtime, order_id: str) -> int:
    """How many refund mails are queued or sent for the order."""
    async with rt.db.transaction() as session:
        found = await session.execute(
            sa.select(sa.func.count())
            .select_from(Job)
            .where(Job.dedupe_key == f"mail:refunded:{order_id}")
        )
        return int(found.scalar_one())


async def live_links(rt: Runtime, order_id: str) -> int:
    """Links of the order that still work."""
    async with rt.db.transaction() as session:
        found = await session.execute(
            sa.select(sa.func.count())
            .select_from(DownloadToken)
            .where(DownloadToken.order_id == order_id, DownloadToken.revoked_at.is_(None))
        )
        return int(found.scalar_one())


async def test_a_provider_without_refunds_gets_a_recorded_refund(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    await pay_with_fake(gd_client, gd_fake_provider, gd_order.id, gd_run_jobs)
    kind = await refund_order(gd_runtime, gd_order.id, actor="staff:x", reason="asked for it")
    assert kind is RefundKind.RECORDED
    assert await refund_mails(gd_runtime, gd_order.id) == 1
    assert await live_links(gd_runtime, gd_order.id) == 0
    async with gd_runtime.db.transaction() as session:
        order = await session.get(Order, gd_order.id)
        assert order is not None
        assert order.payment_status is PaymentStatus.REFUNDED
        assert order.fulfilment_status is FulfilmentState.REVOKED
    await gd_run_jobs()
    assert await refund_mails(gd_runtime, gd_order.id) == 1


async def test_an_unpaid_order_or_no_reason_is_refused(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    with pytest.raises(ActionRefused, match="not paid"):
        await refund_order(gd_runtime, gd_order.id, actor="staff:x", reason="why")
    await pay_with_fake(gd_client, gd_fake_provider, gd_order.id, gd_run_jobs)
    with pytest.raises(ActionRefused, match="reason is required"):
        await refund_order(gd_runtime, gd_order.id, actor="staff:x", reason="  ")
    assert await refund_mails(gd_runtime, gd_order.id) == 0
