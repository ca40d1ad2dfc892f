"""Wave's Checkout API for gated-delivery, with a sandbox simulator.

Install ``gated-delivery-wave`` and set ``WAVE_API_KEY`` and ``WAVE_WEBHOOK_SECRET`` (see
``docs/providers/wave.md``); the ``wave`` provider then appears at checkout.
"""

from gated_delivery_wave.client import WaveClient
from gated_delivery_wave.errors import (
    PROVIDER_NAME,
    WaveAuthError,
    WaveError,
    WaveRefundRefused,
    WaveRequestInvalid,
    WaveUnavailable,
)
from gated_delivery_wave.mapping import map_session
from gated_delivery_wave.plugin import WavePlugin
from gated_delivery_wave.provider import Wave
from gated_delivery_wave.settings import WaveSettings
from gated_delivery_wave.signature import SignatureInvalid
from gated_delivery_wave.simulator import Notice, WaveSimulator

__all__ = [
    "PROVIDER_NAME",
    "Notice",
    "SignatureInvalid",
    "Wave",
    "WaveAuthError",
    "WaveClient",
    "WaveError",
    "WavePlugin",
    "WaveRefundRefused",
    "WaveRequestInvalid",
    "WaveSettings",
    "WaveSimulator",
    "WaveUnavailable",
    "map_session",
]
