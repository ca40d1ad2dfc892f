"""Fixtures: the Orange Money simulator served over loopback for the whole session, and the
plugin registered through ``gd_plugins``, pointed at it with the real httpx client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from gated_delivery_orange_money import (
    OrangeMoney,
    OrangeMoneyPlugin,
    OrangeMoneySettings,
    OrangeMoneySimulator,
)
from gated_delivery_orange_money.testing import (
    CollectingDeliverer,
    OrangeMoneyControl,
    ServedSimulator,
    wire,
)
from pydantic import SecretStr

CLIENT_ID = "om-test-client"
CLIENT_SECRET = "om-test-client-secret-0123456789"
MERCHANT_KEY = "1a2b3c4d"
REFERENCE = "Boutique test"
#: How long a confirmed payment stays PENDING in the tests' simulator (short: tests wait it).
PROCESSING_SECONDS = 0.05

PostNotices = Callable[[], Awaitable[list[httpx.Response]]]


@pytest.fixture(scope="session")
def om_deliverer() -> CollectingDeliverer:
    """Where the simulator's notifications wait for the test to carry them to the app."""
    return CollectingDeliverer()


@pytest.fixture(scope="session")
def om_served(om_deliverer: CollectingDeliverer) -> Iterator[ServedSimulator]:
    """One simulator, served by uvicorn on a free 127.0.0.1 port for the test session."""
    simulator = OrangeMoneySimulator(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        merchant_key=MERCHANT_KEY,
        deliver=om_deliverer,
        # every test asks for its own token: the session's simulator would pass Orange's
        # 50 a minute; the limit has its own test, on its own simulator
        token_requests_per_minute=None,
        processing_seconds=PROCESSING_SECONDS,
    )
    with ServedSimulator(simulator) as served:
        yield served


@pytest.fixture
def om_simulator(
    om_served: ServedSimulator, om_deliverer: CollectingDeliverer
) -> Iterator[OrangeMoneySimulator]:
    """The served simulator, behaving well at the start and end of each test."""
    om_served.simulator.reset()
    om_deliverer.take()
    yield om_served.simulator
    om_served.simulator.reset()
    om_deliverer.take()


@pytest.fixture
def om_settings(om_served: ServedSimulator) -> OrangeMoneySettings:
    """Settings of a ``dev`` account pointed at the simulator."""
    return OrangeMoneySettings(
        api_url=om_served.base_url,
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        merchant_key=SecretStr(MERCHANT_KEY),
        country="dev",
        reference=REFERENCE,
        _env_file=None,
    )


@pytest.fixture
def om_provider(
    om_settings: OrangeMoneySettings, om_simulator: OrangeMoneySimulator
) -> OrangeMoney:
    """A fresh provider (empty token cache) talking to the simulator over loopback."""
    return OrangeMoney(om_settings)


@pytest.fixture
def gd_plugins(om_provider: OrangeMoney) -> list[object]:
    """Register the Orange Money plugin object instead of the fake provider."""
    return [OrangeMoneyPlugin(om_provider)]


@pytest.fixture
def gd_provider_control(
    om_served: ServedSimulator, om_simulator: OrangeMoneySimulator
) -> OrangeMoneyControl:
    """How the provider contract drives the simulator."""
    return OrangeMoneyControl(om_served)


@pytest.fixture
def om_post_notices(gd_client: httpx.AsyncClient, om_deliverer: CollectingDeliverer) -> PostNotices:
    """Carry every notification the simulator sent to the app's notify route."""

    async def post() -> list[httpx.Response]:
        responses = []
        for notice in om_deliverer.take():
            body, headers, query = wire(notice)
            responses.append(
                await gd_client.post(
                    "/payments/orange-money/notify", content=body, headers=headers, params=query
                )
            )
        return responses

    return post
