"""The core's provider contract, against the CinetPay simulator over loopback."""

from gated_delivery.testing import ProviderContract


class TestCinetPayContract(ProviderContract):
    """Every contract test, with the real httpx client talking to the simulator."""
