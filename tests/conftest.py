"""Fixtures of the core's own tests; the ``gd_*`` fixtures come from gated_delivery.testing."""

from __future__ import annotations

import pytest

from gated_delivery.testing import FakeControl, FakeProvider


@pytest.fixture
def gd_provider_control(gd_fake_provider: FakeProvider) -> FakeControl:
    """The contract's control over the fake provider."""
    return FakeControl(gd_fake_provider)
