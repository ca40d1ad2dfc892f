"""The objects plugins hand over: the protocols the hooks' objects follow.

A payment provider follows ``PaymentProvider`` and may add ``CredentialCheck`` and
``RefundCapable``; generators, storage backends, mail transports and staff authenticators
follow the protocol of their name. Follow them, no need to inherit from them. The hooks that
offer these objects are in ``gated_delivery.hookspecs``, the data classes they exchange in
``gated_delivery.plugin_types``; plugins import all of them from ``gated_delivery.api``.

The protocols section of ``docs/plugins.md`` is rendered from this module's docstrings and
``#:`` comments by ``python -m gated_delivery.hook_reference docs/plugins.md``; a test fails
when the two differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from gated_delivery.plugin_types import (
    AttemptView,
    FindAttempt,
    GeneratedDocument,
    GenerationRequest,
    NotificationRef,
    PaymentRequest,
    PaymentStart,
    ProviderStatus,
    RawNotification,
    StaffUser,
    StoredObject,
)

if TYPE_CHECKING:
    from starlette.requests import Request


@runtime_checkable
class CredentialCheck(Protocol):
    """What a provider may add so that ``gated-delivery check`` can test its credentials.

    Optional, for a provider object: it lets the credentials be tried before going live. A
    provider without it is reported as "cannot check its credentials" (a warning).
    """

    async def check_credentials(self) -> str:
        """Make one harmless authenticated call (a login, a token request) to the API.

        Return a short sentence saying what was accepted; raise ``ProviderError`` when the
        provider refuses the credentials and ``ProviderUnavailable`` when it cannot be
        reached. Never start a payment, never include a secret in the sentence. The fake
        provider implements it; test yours against your simulator.
        """
        ...


@runtime_checkable
class RefundCapable(Protocol):
    """What a provider may add so that staff can refund a paid order through it.

    Optional, for a provider object: it backs the "Refund the order" button and
    ``gated-delivery orders refund ORDER --reason ...``. For a provider without it (CinetPay,
    Orange Money, the fake provider) the same action only records a refund made in the
    provider's own back office, and says so.
    """

    async def refund_payment(self, attempt: AttemptView) -> str:
        """Give the whole amount of the SUCCEEDED ``attempt`` back to the buyer.

        Return a short sentence saying what the provider did (it goes into the audit trail);
        raise ``ProviderError`` (with the provider's reason) when it refuses, having changed
        nothing: the order then stays PAID and staff see the reason. A repeat must not pay
        twice. The core calls it outside any transaction, then makes the order REFUNDED,
        revokes its links and mails the buyer once.
        """
        ...


@runtime_checkable
class PaymentProvider(Protocol):
    """A payment provider: start a payment, authenticate its webhooks, ask its server.

    Offered by ``payment_providers`` and checked against this protocol at start-up. Prove
    yours with ``gated_delivery.testing.ProviderContract``: subclass it in a ``Test*`` class
    with a ``gd_provider_control`` fixture driving your simulator (``SimulatorControl``).

    A provider whose API refuses some amounts (a currency, a fraction, a minimum or a
    multiple) may also define ``refuses_amount(amount: Money) -> str | None``: the reason it
    cannot take ``amount``, or None; without it every amount is taken. The core then leaves
    it out of the checkout page for such an order, answers a forced start
    ``POST /checkout/{order_id}/{provider}`` with 422 and the reason (``PriceNotAccepted``)
    before any attempt is made, and ``gated-delivery products add`` warns, naming the tier.
    """

    #: Appears in URLs (``/payments/{name}/notify``) and in the database; never rename it.
    name: str
    #: The label of the provider's button at checkout.
    display_name: str
    #: How long the provider's payment page stays usable: after it, a payment the provider
    #: still calls pending is settled as EXPIRED by the reconciler.
    session_lifetime: timedelta

    async def start_payment(self, request: PaymentRequest) -> PaymentStart:
        """Open a payment session; raise ``ProviderError`` (with the provider's code) on refusal.

        Never retry this call blindly: a timed-out initialisation may have succeeded (search
        for the session by ``attempt_id`` before opening another). On an error the attempt is
        FAILED, and the buyer may try again or choose another provider.
        """
        ...

    async def verify_notification(
        self, raw: RawNotification, find_attempt: FindAttempt
    ) -> NotificationRef:
        """Authenticate the webhook or raise ``NotificationRejected``; there is no default.

        Compare signatures and tokens with ``hmac.compare_digest``. The notification only
        names the payment; only ``check_status`` decides whether it is paid. A rejection is
        answered 400 and audited, and nothing is stored. ``find_attempt`` looks a stored
        attempt up by our transaction id, for a provider whose authentication needs what it
        kept at the start (Orange Money's ``notif_token`` in ``provider_data``) or whose
        webhook names nothing but the provider's own reference (Wave).

        A notification for an attempt ``find_attempt`` does not know, or one of another
        provider: when the notification authenticates by itself (a signature over the body),
        return its ``NotificationRef`` with an empty ``attempt_id`` (or the id it names) so
        that it is kept for the record, queues nothing and the provider stops retrying; when
        authenticating needs the stored attempt, raise ``NotificationRejected``. Never act on
        it otherwise. Events about no payment at all are returned the same way.
        """
        ...

    async def check_status(self, attempt: AttemptView) -> ProviderStatus:
        """Ask the provider's server where the payment stands; only this answer moves a payment.

        Raise ``ProviderUnavailable`` when it cannot be reached or answers 5xx: the job is
        retried with backoff and the payment stays as it is.
        """
        ...


class Generator(Protocol):
    """Produces the deliverable of a product from a paid order (an AI draft, say)."""

    #: What a product's ``--generator`` names.
    name: str

    async def generate(self, request: GenerationRequest) -> GeneratedDocument:
        """Build the document. Raise ``RetryLater`` for transient trouble (rate limit,
        timeout); any other exception marks the generation failed with its message (staff
        may retry it). The core stores the result once, as the order's draft, with its size
        and sha256; it is never regenerated on download."""
        ...


class StorageBackend(Protocol):
    """Private file storage. Keys are generated by the core, never taken from user input."""

    #: What ``GD_STORAGE`` names.
    name: str

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredObject:
        """Write a file atomically from chunks; a failed write leaves nothing behind.

        Measure the size and the sha256 while writing (the default backend writes a temporary
        file, fsyncs it and renames it into place).
        """
        ...

    def open(self, key: str) -> AsyncIterator[bytes]:
        """Stream a stored file in chunks; raise ``FileNotFoundError`` if it is gone.

        Never read the whole file into memory.
        """
        ...

    async def delete(self, key: str) -> None:
        """Remove a stored file; removing a missing file is not an error."""
        ...


class MailTransport(Protocol):
    """Sends e-mail (SMTP, a folder, an API...)."""

    async def send(self, message: EmailMessage) -> None:
        """Send one message (an ``email.message.EmailMessage``); raise to have the mail job
        retried."""
        ...


class StaffAuthenticator(Protocol):
    """Tells who, if anyone, is the staff member behind a request."""

    async def authenticate(self, request: Request) -> StaffUser | None:
        """The staff user of this request (a Starlette ``Request``), or None to send them to
        the login page."""
        ...
