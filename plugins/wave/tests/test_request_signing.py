"""Request signing (``WAVE_SIGNING_SECRET``): a key created with a signing secret must sign
every request, GETs included, over ``t`` and the exact body bytes sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gated_delivery_wave import Wave, WaveAuthError, WaveSettings, WaveSimulator
from gated_delivery_wave.testing import ServedSimulator
from pydantic import SecretStr

from gated_delivery.plugin_types import AttemptView, ReportedStatus
from gated_delivery.states import AttemptState
from gated_delivery.testing import FrozenClock

from .conftest import API_KEY, WEBHOOK_SECRET
from .test_start import request

SIGNING_SECRET = "wave_sn_AKS_test_signing_secret_000000"


@pytest.fixture(scope="module")
def signed_served() -> Iterator[ServedSimulator]:
    simulator = WaveSimulator(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        webhook_url="http://testserver/payments/wave/notify",
        signing_secret=SIGNING_SECRET,
        http_hosts=frozenset({"testserver"}),
    )
    with ServedSimulator(simulator) as served:
        yield served


def provider(served: ServedSimulator, signing_secret: str | None) -> Wave:
    settings = WaveSettings(
        api_url=served.base_url,
        api_key=SecretStr(API_KEY),
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        signing_secret=SecretStr(signing_secret) if signing_secret else None,
        _env_file=None,
    )
    return Wave(settings, clock=FrozenClock().now)


async def test_signed_requests_create_and_read_a_session(signed_served: ServedSimulator) -> None:
    wave = provider(signed_served, SIGNING_SECRET)
    start = await wave.start_payment(request("attempt-signed"))
    attempt = AttemptView(
        attempt_id="attempt-signed",
        order_id="order-1",
        provider="wave",
        state=AttemptState.PENDING,
        amount=request("x").amount,
        provider_ref=None,
        provider_data=start.provider_data,
        created_at=FrozenClock().now(),
    )
    assert (await wave.check_status(attempt)).status is ReportedStatus.PENDING


@pytest.mark.parametrize("secret", [None, "wave_sn_AKS_another_secret_000000000"])
async def test_unsigned_or_badly_signed_requests_are_refused(
    signed_served: ServedSimulator, secret: str | None
) -> None:
    with pytest.raises(WaveAuthError, match="check WAVE_API_KEY") as info:
        await provider(signed_served, secret).start_payment(request("attempt-unsigned"))
    assert info.value.code == "invalid-signature"
    assert "attempt-unsigned" not in signed_served.simulator.counters.by_reference
