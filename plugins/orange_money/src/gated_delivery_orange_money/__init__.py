"""Orange Money Web Payment (WebPay) for gated-delivery, with a sandbox simulator.

Install ``gated-delivery-orange-money`` and set the ``OM_*`` variables (see
``docs/providers/orange_money.md``); the ``orange-money`` provider then appears at checkout.
"""

from gated_delivery_orange_money.client import OrangeMoneyClient, TokenCache, parse_expires_in
from gated_delivery_orange_money.errors import (
    PROVIDER_NAME,
    OrangeMoneyAccessError,
    OrangeMoneyAuthError,
    OrangeMoneyError,
    OrangeMoneyRequestInvalid,
    OrangeMoneyUnavailable,
)
from gated_delivery_orange_money.plugin import OrangeMoneyPlugin
from gated_delivery_orange_money.provider import STATUSES, OrangeMoney
from gated_delivery_orange_money.settings import OrangeMoneySettings
from gated_delivery_orange_money.simulator import Notice, OrangeMoneySimulator

__all__ = [
    "PROVIDER_NAME",
    "STATUSES",
    "Notice",
    "OrangeMoney",
    "OrangeMoneyAccessError",
    "OrangeMoneyAuthError",
    "OrangeMoneyClient",
    "OrangeMoneyError",
    "OrangeMoneyPlugin",
    "OrangeMoneyRequestInvalid",
    "OrangeMoneySettings",
    "OrangeMoneySimulator",
    "OrangeMoneyUnavailable",
    "TokenCache",
    "parse_expires_in",
]
