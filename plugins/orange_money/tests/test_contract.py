"""The gated-delivery provider contract, against the Orange Money simulator over loopback."""

from gated_delivery.testing import ProviderContract


class TestOrangeMoneyContract(ProviderContract):
    """Every contract test; CANCELLED is skipped, as Orange Money has no such status."""
