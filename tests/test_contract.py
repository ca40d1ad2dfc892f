"""The provider contract, run by the core on its fake provider."""

from gated_delivery.testing import ProviderContract


class TestFakeProviderContract(ProviderContract):
    """Every contract test, against the fake provider."""
