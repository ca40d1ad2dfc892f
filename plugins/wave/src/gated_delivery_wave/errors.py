"""The errors the Wave plugin raises, all subclasses of the core's provider errors.

    ProviderError (gated_delivery.errors)
    └── WaveError                  Wave refused, with its own code and message
        ├── WaveAuthError          401 / 403: the API key is wrong, revoked, or lacks Checkout
        ├── WaveRequestInvalid     the request broke a rule (checked before sending when we
        │                          can, or refused by Wave with request-validation-error)
        ├── WaveRefundRefused      checkout-refund-failed: not paid, or the balance is too low
        └── WaveUnavailable        unreachable, timed out, 5xx, or rate limited (429); also a
                                   ``ProviderUnavailable``, so jobs retry with backoff

Messages name the setting to fix, never a secret: no API key or webhook secret ever enters one.
"""

from __future__ import annotations

from gated_delivery.api import ProviderError, ProviderUnavailable

PROVIDER_NAME = "wave"


class WaveError(ProviderError):
    """Wave answered with an error; ``code`` and ``provider_message`` are its own.

    ``http_status`` is the HTTP status of the answer (None when nothing was sent).
    """

    def __init__(self, code: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(PROVIDER_NAME, code, message)
        self.http_status = http_status


class WaveAuthError(WaveError):
    """Wave refused the API key (401) or the wallet (403): check ``WAVE_API_KEY``, and that
    the key was made for this wallet with the Checkout API ticked."""


class WaveRequestInvalid(WaveError):
    """The request broke one of Wave's rules; not worth retrying as it is."""


class WaveRefundRefused(WaveError):
    """Wave would not refund the session (not paid, already refunded elsewhere, or too low a
    balance): nothing changed at Wave; staff decide what to do."""


class WaveUnavailable(WaveError, ProviderUnavailable):
    """Wave could not be reached, timed out, answered 5xx, or asked us to slow down.

    The payment stays as it is and the check is retried later with backoff.
    """
