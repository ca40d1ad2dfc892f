"""Refunds through Wave: the whole amount, only for a succeeded payment, never twice.

The core has no refund hook yet; these tests call the provider's ``refund`` directly, on an
attempt paid through the real app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from gated_delivery_wave import Wave, WaveRefundRefused
from gated_delivery_wave.testing import WaveControl

from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.payments import view
from gated_delivery.runtime import Runtime

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
