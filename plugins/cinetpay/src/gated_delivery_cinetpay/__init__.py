"""CinetPay for gated-delivery: hosted checkout, ``x-token`` webhooks, server-to-server checks.

The hooks live in ``gated_delivery_cinetpay.plugin`` (the entry point); the simulator served
under ``/sandbox/cinetpay`` in sandbox mode lives in ``gated_delivery_cinetpay.simulator``.
"""

from __future__ import annotations

from gated_delivery_cinetpay._version import __version__
from gated_delivery_cinetpay.errors import (
    AmountNotAccepted,
    CheckRefused,
    CinetPayError,
    CinetPayUnavailable,
    PaymentRefused,
)
from gated_delivery_cinetpay.provider import CinetPay
from gated_delivery_cinetpay.settings import (
    CinetPayConfig,
    CinetPaySettings,
    load_config,
)
from gated_delivery_cinetpay.xtoken import x_token

__all__ = [
    "AmountNotAccepted",
    "CheckRefused",
    "CinetPay",
    "CinetPayConfig",
    "CinetPayError",
    "CinetPaySettings",
    "CinetPayUnavailable",
    "PaymentRefused",
    "__version__",
    "load_config",
    "x_token",
]
