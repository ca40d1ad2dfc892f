"""Starting a payment: a create that timed out is recovered without a second session, and
refusals are typed. The provider talks to the served simulator with the real httpx client."""

from __future__ import annotations

import httpx
import pytest
from gated_delivery_wave import (
    Wave,
    WaveAuthError,
    WaveRequestInvalid,
    WaveSettings,
    WaveSimulator,
    WaveUnavailable,
)
from gated_delivery_wave.testing import WaveControl
from pydantic import SecretStr

from gated_delivery.money import Money
from gated_delivery.plugin_types import PaymentRequest
from gated_delivery.testing import FrozenClock

PRICE = Money(2500, "XOF")


def request(attempt_id: str, amount: Money = PRICE) -> PaymentRequest:
    base = "http://testserver/payments/wave"
    return PaymentRequest(
        attempt_id=attempt_id,
        order_id="order-1",
        amount=amount,
        description="Guide",
        buyer_name="Awa",
        buyer_email="awa@example.org",
        return_url=f"{base}/return?order=order-1",
        notify_url=f"{base}/notify?order=order-1",
        cancel_url=f"{base}/return?order=order-1&cancelled=1",
    )


async def test_a_start_retried_after_a_timeout_opens_no_second_session(
    wave_settings: WaveSettings,
    gd_provider_control: WaveControl,
    gd_clock: FrozenClock,
) -> None:
    # the session is made, but its answer comes after the client gave up
    impatient = Wave(wave_settings, timeout=httpx.Timeout(10.0, read=0.3), clock=gd_clock.now)
    gd_provider_control.control(create_delay_ms="1000")
    start = await impatient.start_payment(request("attempt-timeout-1"))
    counters = gd_provider_control.control(create_delay_ms="0")
    assert counters["by_reference"]["attempt-timeout-1"] == 1
    session = gd_provider_control.simulator.sessions[start.provider_data["session_id"]]
    assert session.client_reference == "attempt-timeout-1"
    assert start.redirect_url == session.launch_url


async def test_a_503_on_create_opens_nothing_and_a_new_start_opens_one(
    wave_provider: Wave, gd_provider_control: WaveControl, wave_simulator: WaveSimulator
) -> None:
    gd_provider_control.control(fail_next="1")
    with pytest.raises(WaveUnavailable, match="service-unavailable"):
        await wave_provider.start_payment(request("attempt-503"))
    assert "attempt-503" not in gd_provider_control.control()["by_reference"]
    start = await wave_provider.start_payment(request("attempt-503"))
    assert gd_provider_control.control()["by_reference"]["attempt-503"] == 1
    assert start.provider_data["session_id"] in wave_simulator.sessions


async def test_a_currency_wave_does_not_take_is_refused_before_sending(
    wave_provider: Wave, gd_provider_control: WaveControl
) -> None:
    assert wave_provider.refuses_amount(PRICE) is None
    assert "not EUR" in (wave_provider.refuses_amount(Money(1250, "EUR")) or "")
    calls = gd_provider_control.control()["api_calls"]
    with pytest.raises(WaveRequestInvalid, match="not EUR"):
        await wave_provider.start_payment(request("attempt-eur", Money(1250, "EUR")))
    assert gd_provider_control.control()["api_calls"] == calls


async def test_a_refusal_by_wave_is_typed_and_names_the_setting(
    wave_settings: WaveSettings, gd_clock: FrozenClock
) -> None:
    wrong = wave_settings.model_copy(update={"api_key": SecretStr("wave_sn_prod_not_the_key_000")})
    with pytest.raises(WaveAuthError, match="check WAVE_API_KEY") as info:
        await Wave(wrong, clock=gd_clock.now).start_payment(request("attempt-key"))
    assert info.value.code == "no-matching-api-key"
    assert "not_the_key" not in str(info.value)


async def test_production_refuses_plain_http_return_addresses(gd_clock: FrozenClock) -> None:
    production = WaveSettings(
        api_key=SecretStr("wave_sn_prod_0123456789abcdef"),
        webhook_secret=SecretStr("wave_sn_WHS_0123456789abcdef"),
        _env_file=None,
    )
    with pytest.raises(WaveRequestInvalid, match="GD_BASE_URL"):
        await Wave(production, clock=gd_clock.now).start_payment(request("attempt-http"))
