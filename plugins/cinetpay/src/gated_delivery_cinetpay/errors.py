"""The errors the CinetPay plugin raises, all under the core's tree.

    ProviderError                       (gated_delivery.errors)
    └── CinetPayError                   anything CinetPay-specific
        ├── AmountNotAccepted           the price breaks CinetPay's amount rules; nothing was sent
        ├── PaymentRefused              CinetPay refused to open the payment (its code, its words)
        ├── CheckRefused                CinetPay refused the status check (bad key, unknown id)
        ├── LoginRefused                the current API refused the key and password (1005)
        └── CinetPayUnavailable         no answer, a 5xx or a 429; also a ProviderUnavailable

Beside them, ``BuyerDetailsRefused`` (an ``InvalidInput``, 422): the order lacks a payer detail
CinetPay requires; nothing was sent.

The core shows every ``ProviderError`` to the buyer as "the payment could not start; try again
or use another method", and records ``code`` and ``provider_message`` on the attempt. Messages
never hold the API key or the secret key.
"""

from __future__ import annotations

from typing import Final

from gated_delivery.api import InvalidInput, ProviderError, ProviderUnavailable

PROVIDER_NAME: Final = "cinetpay"


class CinetPayError(ProviderError):
    """Base class of the plugin's errors; ``code`` and ``provider_message`` as in the core."""

    def __init__(self, code: str, provider_message: str) -> None:
        super().__init__(PROVIDER_NAME, code, provider_message)


class AmountNotAccepted(CinetPayError):
    """The amount or currency breaks CinetPay's rules; raised before any request is made.

    Fix the product's price (for example, a multiple of 5 in a currency CinetPay takes).
    """

    def __init__(self, provider_message: str) -> None:
        super().__init__("amount-rules", provider_message)
        # nothing was sent: do not read as "cinetpay answered ..."
        self.args = (f"not sent to CinetPay: {provider_message}",)


class PaymentRefused(CinetPayError):
    """CinetPay answered the initialisation with an error code (608, 609, 613, 624, 1010...)."""


class CheckRefused(CinetPayError):
    """CinetPay answered the status check with an error envelope (no ``data``)."""


class CinetPayUnavailable(ProviderUnavailable, CinetPayError):
    """CinetPay could not be reached, timed out, answered 5xx or 429; try again later."""

    def __init__(self, code: str, provider_message: str) -> None:
        ProviderUnavailable.__init__(self, PROVIDER_NAME, code, provider_message)


class BuyerDetailsRefused(InvalidInput):
    """The order lacks what CinetPay needs to know of the payer (a name, card details).

    Nothing was sent to CinetPay; the message names the answers to collect. Answered 422.
    """

    status_code = 422


class LoginRefused(CinetPayError):
    """CinetPay refused ``CINETPAY_API_KEY`` / ``CINETPAY_API_PASSWORD`` (1005) at login.

    Check both values in the back office (one pair per country); the message never holds them.
    """
