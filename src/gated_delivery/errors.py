"""The exceptions gated-delivery raises, one tree for all of them.

    GatedDeliveryError
    ├── ConfigurationError        a setting is missing or wrong; start-up stops
    ├── PluginError               a plugin is broken, missing or offered twice
    ├── MoneyError                an amount or currency that cannot be money
    ├── IllegalTransition         a state machine was asked for a move its table forbids
    ├── ActionRefused             a staff or buyer action the order's state does not allow
    ├── NotFound                  an order, product, tier or provider that does not exist
    ├── InvalidInput              a buyer's or operator's input was refused
    │   ├── UploadRefused         an upload over a limit or of a refused type (uploads.refusals)
    │   ├── PriceNotAccepted      the chosen provider cannot take this price (422)
    │   └── DestinationRefused    a webhook URL that is not https or points inside the network
    ├── TooManyRequests           a rate limit or a size budget was reached; try again later
    ├── NotificationRejected      a webhook failed authentication; nothing changed
    ├── ProviderError             the provider answered with an error of its own
    │   └── ProviderUnavailable   the provider could not be reached; try again later
    ├── RetryLater                a job asks to run again later (not a failure)
    └── GiveUp                    a job failed for good: trying again would fail the same way

Every message says what was wrong and what to do next, and never carries a secret.
"""

from __future__ import annotations

from collections.abc import Collection


class GatedDeliveryError(Exception):
    """Base class of every error gated-delivery raises on purpose."""


class ConfigurationError(GatedDeliveryError):
    """A setting is missing or invalid; the message names the environment variable."""


class PluginError(GatedDeliveryError):
    """A plugin could not be loaded or conflicts with another one."""


class MoneyError(GatedDeliveryError, ValueError):
    """An amount or currency was refused (float, malformed string, unknown currency)."""


class IllegalTransition(GatedDeliveryError):
    """A state machine was asked for a move its table does not allow; nothing was changed."""

    def __init__(
        self,
        machine: str,
        subject: str,
        current: str,
        target: str,
        allowed: Collection[str],
        reason: str = "",
    ) -> None:
        options = ", ".join(sorted(allowed)) or "nothing (final state)"
        message = (
            f"{machine} of {subject} cannot go from {current} to {target}; it may go to {options}"
        )
        if reason:
            message = f"{message} ({reason})"
        super().__init__(message)
        self.machine = machine
        self.subject = subject
        self.current = current
        self.target = target
        self.reason = reason


class NotFound(GatedDeliveryError, LookupError):
    """The thing named does not exist (or is not visible to the caller)."""


class InvalidInput(GatedDeliveryError, ValueError):
    """Input was refused; ``field`` names the input when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PriceNotAccepted(InvalidInput):
    """The chosen provider cannot take this order's price; nothing was sent to it.

    The buyer should pick another payment method; the merchant should change the price.
    """

    status_code = 422


class TooManyRequests(GatedDeliveryError):
    """A rate limit or a storage budget was reached (429); nothing was stored."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = max(1, retry_after_seconds)


class DestinationRefused(InvalidInput):
    """An outbound address refused: not https, malformed, or inside the shop's network."""


class NotificationRejected(GatedDeliveryError):
    """A provider notification failed authentication; it is answered 400 and audited."""


class ProviderError(GatedDeliveryError):
    """The provider answered with an error; ``code`` and ``provider_message`` are its own words."""

    def __init__(self, provider: str, code: str, provider_message: str) -> None:
        super().__init__(f"{provider} answered {code}: {provider_message}")
        self.provider = provider
        self.code = code
        self.provider_message = provider_message


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or answered 5xx; the call may be retried later."""


class RetryLater(GatedDeliveryError):
    """Raised by a job handler that has nothing to do yet and wants to run again later."""


class ActionRefused(GatedDeliveryError):
    """A staff or buyer action that the order's state does not allow; nothing changed."""


class GiveUp(GatedDeliveryError):
    """Raised by a job handler whose failure is final (a webhook receiver answering 400)."""
