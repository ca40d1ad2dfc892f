"""Fixtures: the Wave simulator served over loopback for the whole session, and the plugin
registered through ``gd_plugins``, pointed at it with the real httpx client.

The provider's clock is the test clock (``gd_clock``), so a test that moves time moves the
replay window and the session lifetime the provider sees.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from gated_delivery_wave import Wave, WavePlugin, WaveSettings, WaveSimulator
from gated_delivery_wave.testing import CollectingDeliverer, ServedSimulator, WaveControl, wire
from pydantic import SecretStr

from gated_delivery.testing import FrozenClock

API_KEY = "wave_sn_prod_test_key_0123456789abcdef"
WEBHOOK_SECRET = "wave_sn_WHS_test_secret_0123456789abcdef"

PostNotices = Callable[[], Awaitable[list[httpx.Response]]]


@pytest.fixture(scope="session")
def wave_deliverer() -> CollectingDeliverer:
    """Where the simulator's webhooks wait for the test to carry them to the app."""
    return CollectingDeliverer()


@pytest.fixture(scope="session")
def wave_served(wave_deliverer: CollectingDeliverer) -> Iterator[ServedSimulator]:
    """One simulator, served by uvicorn on a free 127.0.0.1 port for the test session."""
    simulator = WaveSimulator(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        webhook_url="http://testserver/payments/wave/notify",
        deliver=wave_deliverer,
        http_hosts=frozenset({"testserver"}),  # the in-process app's return pages
    )
    with ServedSimulator(simulator) as served:
        yield served


@pytest.fixture
def wave_simulator(
    wave_served: ServedSimulator, wave_deliverer: CollectingDeliverer
) -> Iterator[WaveSimulator]:
    """The served simulator, behaving well at the start and end of each test."""
    wave_served.simulator.reset()
    wave_deliverer.take()
    yield wave_served.simulator
    wave_served.simulator.reset()
    wave_deliverer.take()


@pytest.fixture
def wave_settings(wave_served: ServedSimulator) -> WaveSettings:
    """Settings of a wallet pointed at the simulator."""
    return WaveSettings(
        api_url=wave_served.base_url,
        api_key=SecretStr(API_KEY),
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        _env_file=None,
    )


@pytest.fixture
def wave_provider(
    wave_settings: WaveSettings, wave_simulator: WaveSimulator, gd_clock: FrozenClock
) -> Wave:
    """The provider talking to the simulator over loopback, on the test clock."""
    return Wave(wave_settings, clock=gd_clock.now)


@pytest.fixture
def gd_plugins(wave_provider: Wave) -> list[object]:
    """Register the Wave plugin object instead of the fake provider."""
    return [WavePlugin(wave_provider)]


@pytest.fixture
def gd_provider_control(wave_served: ServedSimulator, wave_simulator: WaveSimulator) -> WaveControl:
    """How the provider contract drives the simulator."""
    return WaveControl(wave_served)


@pytest.fixture
def wave_post_notices(
    gd_client: httpx.AsyncClient, wave_deliverer: CollectingDeliverer
) -> PostNotices:
    """Carry every webhook the simulator sent to the app's notify route."""

    async def post() -> list[httpx.Response]:
        responses = []
        for notice in wave_deliverer.take():
            body, headers, _query = wire(notice)
            responses.append(
                await gd_client.post("/payments/wave/notify", content=body, headers=headers)
            )
        return responses

    return post
