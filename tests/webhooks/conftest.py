"""A real webhook receiver on a loopback port, and settings that let the sender reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_asyncio

from gated_delivery.config import CoreSettings
from gated_delivery.models import WebhookEndpoint
from gated_delivery.runtime import Runtime
from gated_delivery.testing.webhook_receiver import Receiver, serve_receiver
from gated_delivery.webhooks import endpoints


@pytest.fixture
def gd_settings(gd_settings: CoreSettings) -> CoreSettings:
    """Sandbox (http allowed), loopback allowed, a short timeout, a staff address.

    The sandbox's own fake provider is turned off: the tests register theirs.
    """
    return gd_settings.model_copy(
        update={
            "sandbox": True,
            "disabled_plugins": ["gated_delivery.sandbox.fake_provider"],
            "webhooks_allow_private": True,
            "webhooks_timeout_seconds": 1.0,
            "admin_emails": ["ops@example.org"],
        }
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A server on a free loopback port, recording what it receives."""
    with serve_receiver() as found:
        yield found


@pytest_asyncio.fixture
async def endpoint(gd_runtime: Runtime, receiver: Receiver) -> tuple[WebhookEndpoint, str]:
    """An endpoint for every event type at the receiver, and its secret."""
    return await endpoints.add(gd_runtime, receiver.url, ["all"], actor="test")
