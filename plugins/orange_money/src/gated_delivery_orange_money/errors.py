"""The errors the Orange Money plugin raises, all subclasses of the core's provider errors.

    ProviderError (gated_delivery.errors)
    └── OrangeMoneyError           Orange Money refused, with its own code and message
        ├── OrangeMoneyAuthError   401 codes 40-42: credentials missing, wrong, or expired twice
        ├── OrangeMoneyAccessError 403 code 50, 404 code 60: not subscribed, wrong path or country
        ├── OrangeMoneyRequestInvalid  the request broke a documented rule (checked before
        │                          sending when we can, or refused by Orange with a 400)
        └── OrangeMoneyUnavailable unreachable, timed out, 5xx, or rate limited (429 / code 53);
                                   also a ``ProviderUnavailable``, so jobs retry with backoff

Messages name the setting to fix, never a secret: no token, client secret, merchant key,
``notif_token`` or ``pay_token`` ever enters one.
"""

from __future__ import annotations

from gated_delivery.api import ProviderError, ProviderUnavailable

PROVIDER_NAME = "orange-money"


class OrangeMoneyError(ProviderError):
    """Orange Money answered with an error; ``code`` and ``provider_message`` are its own.

    ``http_status`` is the HTTP status of the answer (None when nothing was sent), and
    ``description`` Orange's longer explanation, when it gave one.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        description: str = "",
    ) -> None:
        super().__init__(PROVIDER_NAME, code, message)
        self.http_status = http_status
        self.description = description


class OrangeMoneyAuthError(OrangeMoneyError):
    """The gateway refused our credentials or token (401, codes 40, 41, 42).

    Check ``OM_CLIENT_ID`` and ``OM_CLIENT_SECRET``; an expired token is refreshed once
    before this is raised.
    """


class OrangeMoneyAccessError(OrangeMoneyError):
    """The application may not use this API (403 code 50) or the path does not exist (404
    code 60): a configuration problem (subscription, ``OM_COUNTRY``, ``OM_API_URL``)."""


class OrangeMoneyRequestInvalid(OrangeMoneyError):
    """The request broke one of Orange Money's rules (a field too long, an amount that is not
    whole units, a currency the account does not take); not worth retrying as it is."""


class OrangeMoneyUnavailable(OrangeMoneyError, ProviderUnavailable):
    """Orange Money could not be reached, timed out, answered 5xx, or asked us to slow down.

    The payment stays as it is and the check is retried later with backoff.
    """
