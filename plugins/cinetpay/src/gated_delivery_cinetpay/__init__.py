"""CinetPay for gated-delivery: hosted checkout, authenticated webhooks, server-to-server checks.

Both API generations, chosen by settings (``settings``): the current API in
``gated_delivery_cinetpay.v1`` (OAuth login, ``notify_token``), and the legacy Checkout API v2
in the top-level modules (``provider``, ``api``, ``status``, ``xtoken``, ``simulator``). The hooks
live in ``gated_delivery_cinetpay.plugin`` (the entry point); in sandbox mode the simulator of
the API in use is served under ``/sandbox/cinetpay``.
"""

from __future__ import annotations

from gated_delivery_cinetpay._version import __version__
from gated_delivery_cinetpay.errors import (
    AmountNotAccepted,
    BuyerDetailsRefused,
    CheckRefused,
    CinetPayError,
    CinetPayUnavailable,
    LoginRefused,
    PaymentRefused,
)
from gated_delivery_cinetpay.provider import CinetPay
from gated_delivery_cinetpay.settings import (
    CinetPayConfig,
    CinetPaySettings,
    CinetPayV1Config,
    load_config,
)
from gated_delivery_cinetpay.v1.provider import CinetPayV1
from gated_delivery_cinetpay.xtoken import x_token

__all__ = [
    "AmountNotAccepted",
    "BuyerDetailsRefused",
    "CheckRefused",
    "CinetPay",
    "CinetPayConfig",
    "CinetPayError",
    "CinetPaySettings",
    "CinetPayUnavailable",
    "CinetPayV1",
    "CinetPayV1Config",
    "LoginRefused",
    "PaymentRefused",
    "__version__",
    "load_config",
    "x_token",
]
