"""The core's provider contract, against the current-API (v1) simulator over loopback."""

from gated_delivery.testing import ProviderContract


class TestCinetPayV1Contract(ProviderContract):
    """Every contract test, with the real httpx client talking to the v1 simulator."""
