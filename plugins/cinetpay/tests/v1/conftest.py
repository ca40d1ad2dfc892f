"""The current-API tests: the v1 provider registered instead of the legacy one.

The v1 simulator (``v1_server``) and its control (``V1Control``) live in the parent
conftest; each test gets a new provider, hence a fresh token cache.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from gated_delivery_cinetpay import CinetPayV1

from gated_delivery.testing import ProviderPlugin

from ..conftest import V1Control, V1Server, make_v1_config


@pytest.fixture
def v1_provider(v1_server: V1Server) -> CinetPayV1:
    """The provider, pointed at the simulator; retries of the status read are quick here."""
    return CinetPayV1(
        make_v1_config(v1_server.api_url),
        timeout=httpx.Timeout(5.0),
        check_retry_delays=(0.01, 0.01),
    )


@pytest.fixture
def gd_plugins(v1_provider: CinetPayV1) -> list[object]:
    """Register the current-API provider (instead of the legacy one of the parent folder)."""
    return [ProviderPlugin(v1_provider)]


@pytest.fixture
def gd_provider_control(v1_server: V1Server) -> Iterator[V1Control]:
    """Control of the session's simulator; its misbehaviour is reset after each test."""
    control = V1Control(v1_server.api_url, v1_server.control_client)
    try:
        yield control
    finally:
        control.misbehave(reset="1")
