"""The gated-delivery provider contract, against the Wave simulator over loopback."""

from gated_delivery.testing import ProviderContract


class TestWaveContract(ProviderContract):
    """Every contract test; FAILED and CANCELLED are skipped: a failed try leaves Wave's
    session open, and an abandoned one ends EXPIRED."""
