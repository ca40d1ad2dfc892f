"""Refunds through Wave: the whole amount, only for a succeeded payment, never twice.

The first tests call the provider's ``refund`` directly; the last go through the core's
``refund_order``, as the staff page and ``orders refund`` do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
import sqlalchemy as sa
from gated_delivery_wave import Wave, WaveRefundRefused
from gated_delivery_wave.testing import WaveControl

from gated_delivery.models import Job, Order, PaymentAttempt
from gated_delivery.payments import verify_attempt, view
from gated_delivery.refunds import RefundKind, RefundRefused, refund_order
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState, PaymentStatus

from .helpers import checkout


async def fresh(rt: Runtime, attempt_id: str) -> PaymentAttempt:
    async with rt.db.transaction() as session:
        row = await session.get(PaymentAttempt, attempt_id)
        assert row is not None
        return row


async def test_a_paid_session_is_refunded_once(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_run_jobs: Callable[[], Awaitable[int]],
    gd_provider_control: WaveControl,
    wave_provider: Wave,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    gd_provider_control.control(
        f"/{attempt.provider_data['session_id']}", outcome="succeeded", notify="0"
    )
    before = gd_provider_control.control()["refunds"]
    await wave_provider.refund(view(await fresh(gd_runtime, attempt.id)))
    await wave_provider.refund(view(await fresh(gd_runtime, attempt.id)))  # a repeat: no error
    assert gd_provider_control.control()["refunds"] == before + 1


async def test_an_unpaid_session_cannot_be_refunded_and_nothing_changes(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: WaveControl,
    wave_provider: Wave,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    before = gd_provider_control.control()["refunds"]
    with pytest.raises(WaveRefundRefused, match="Only a succeeded payment") as info:
        await wave_provider.refund(view(await fresh(gd_runtime, attempt.id)))
    assert info.value.code == "checkout-refund-failed"
    assert gd_provider_control.control()["refunds"] == before
    session = gd_provider_control.simulator.sessions[attempt.provider_data["session_id"]]
    assert (session.checkout_status, session.payment_status) == ("open", "processing")


async def paid_order(
    client: httpx.AsyncClient, rt: Runtime, order: Order, control: WaveControl
) -> PaymentAttempt:
    """Pay ``order`` at the simulator and settle it by asking Wave (no webhook)."""
    attempt = await checkout(client, rt, order)
    control.control(f"/{attempt.provider_data['session_id']}", outcome="succeeded", notify="0")
    await verify_attempt(rt, attempt.id, actor="test")
    return attempt


async def order_now(rt: Runtime, order_id: str) -> Order:
    async with rt.db.transaction() as session:
        row = await session.get(Order, order_id)
        assert row is not None
        return row


async def refund_mails(rt: Runtime, order_id: str) -> int:
    async with rt.db.transaction() as session:
        found = await session.execute(
            sa.select(sa.func.count())
            .select_from(Job)
            .where(Job.dedupe_key == f"mail:refunded:{order_id}")
        )
        return int(found.scalar_one())


async def test_refund_order_goes_through_wave(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: WaveControl,
) -> None:
    await paid_order(gd_client, gd_runtime, gd_order, gd_provider_control)
    before = gd_provider_control.control()["refunds"]
    kind = await refund_order(gd_runtime, gd_order.id, actor="staff:x", reason="cancelled")
    assert kind is RefundKind.THROUGH_PROVIDER
    assert gd_provider_control.control()["refunds"] == before + 1
    order = await order_now(gd_runtime, gd_order.id)
    assert order.payment_status is PaymentStatus.REFUNDED
    assert order.fulfilment_status is FulfilmentState.REVOKED
    assert await refund_mails(gd_runtime, gd_order.id) == 1


async def test_a_refund_wave_refuses_changes_nothing(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: WaveControl,
    wave_provider: Wave,
) -> None:
    attempt = await paid_order(gd_client, gd_runtime, gd_order, gd_provider_control)
    # the session goes back to unpaid at Wave, which then refuses to refund it
    session = gd_provider_control.simulator.sessions[attempt.provider_data["session_id"]]
    session.payment_status = "processing"
    before = gd_provider_control.control()["refunds"]
    with pytest.raises(RefundRefused, match="Only a succeeded payment"):
        await refund_order(gd_runtime, gd_order.id, actor="staff:x", reason="cancelled")
    assert gd_provider_control.control()["refunds"] == before
    order = await order_now(gd_runtime, gd_order.id)
    assert order.payment_status is PaymentStatus.PAID
    assert await refund_mails(gd_runtime, gd_order.id) == 0
