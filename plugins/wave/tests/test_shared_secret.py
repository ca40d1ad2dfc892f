"""The shared-secret strategy (``WAVE_WEBHOOK_STRATEGY=shared``): Wave sends
``Authorization: Bearer <webhook secret>`` instead of a signature."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from gated_delivery_wave import WaveSettings
from gated_delivery_wave.testing import ServedSimulator, WaveControl, wire
from pydantic import SecretStr

from gated_delivery.models import Notification, Order
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus

from .conftest import API_KEY, WEBHOOK_SECRET
from .helpers import NOTIFY, checkout, count, states


@pytest.fixture
def wave_settings(wave_served: ServedSimulator) -> WaveSettings:
    """A wallet whose webhooks use the shared-secret strategy."""
    return WaveSettings(
        api_url=wave_served.base_url,
        api_key=SecretStr(API_KEY),
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        webhook_strategy="shared",
        _env_file=None,
    )


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (f"Bearer {WEBHOOK_SECRET}", 200),
        (f"Bearer {API_KEY}", 400),  # the API key is not the webhook secret
        (WEBHOOK_SECRET, 400),
    ],
    ids=["right", "api-key", "no-bearer"],
)
async def test_the_bearer_secret_is_compared(
    authorization: str,
    expected: int,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: WaveControl,
    gd_run_jobs: Callable[[], Awaitable[int]],
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    session_id = attempt.provider_data["session_id"]
    gd_provider_control.control(f"/{session_id}", outcome="succeeded", notify="0")
    body, headers, _ = wire(gd_provider_control.simulator.notice(session_id))
    headers = {"content-type": "application/json"}
    if authorization:
        headers["authorization"] = authorization
    response = await gd_client.post(NOTIFY, content=body, headers=headers)
    assert response.status_code == expected
    await gd_run_jobs()
    paid = (AttemptState.SUCCEEDED, PaymentStatus.PAID)
    pending = (AttemptState.PENDING, PaymentStatus.PENDING)
    assert await states(gd_runtime, attempt.id) == (paid if expected == 200 else pending)
    assert await count(gd_runtime, Notification) == (1 if expected == 200 else 0)
