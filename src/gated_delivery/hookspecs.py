"""The plugin reference: every hook gated-delivery calls, and the objects plugins hand over.

Plugins are found through the entry-point group ``gated_delivery``; our own defaults (local
storage, the folder mail transport, the sandbox fake provider) are registered the same way,
first, so that any installed plugin is called before them. Hook implementations may accept
fewer arguments than the spec. Specs may gain arguments but never lose or rename one.

A payment provider is one module: a ``payment_providers`` hook returning an object that
follows ``PaymentProvider``. The core does everything else: orders, attempts, the webhook
pipeline, retries, reconciliation, audit and delivery.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from pluggy import HookimplMarker, HookspecMarker

from gated_delivery.money import Money
from gated_delivery.states import AttemptState

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.routing import BaseRoute

    from gated_delivery.config import CoreSettings

hookspec = HookspecMarker("gated_delivery")
#: Mark your hook implementations with this (or ``pluggy.HookimplMarker("gated_delivery")``).
hookimpl = HookimplMarker("gated_delivery")


# --- what a payment provider receives and returns -------------------------------------


@dataclass(frozen=True)
class PaymentRequest:
    """Everything a provider needs to open a payment session for one attempt.

    ``attempt_id`` is our transaction id: unique per attempt (a retry is a new attempt),
    random, 22 letters and digits.
    """

    attempt_id: str
    order_id: str
    amount: Money
    description: str
    buyer_name: str
    buyer_email: str
    return_url: str
    notify_url: str
    cancel_url: str
    #: The order's answers named in ``BUYER_DETAIL_KEYS``, as text (card payments need them);
    #: a key the form did not collect is absent.
    buyer_details: Mapping[str, str] = field(default_factory=dict)


#: Form answers handed to providers in ``PaymentRequest.buyer_details`` when an order has
#: them: a phone number, a postal address (``country`` as ISO 3166 alpha-2), nothing else.
BUYER_DETAIL_KEYS: tuple[str, ...] = ("phone", "address", "city", "state", "zip_code", "country")


@dataclass(frozen=True)
class PaymentStart:
    """Where to send the buyer, and what to keep on the attempt until the notification.

    ``provider_data`` is stored on the attempt and handed back in ``AttemptView``; it may hold
    per-attempt tokens, and is never shown to buyers or written to logs.
    """

    redirect_url: str
    provider_ref: str | None = None
    provider_data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RawNotification:
    """A webhook exactly as received: method, lower-cased headers, query and raw body."""

    provider: str
    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    path_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class AttemptView:
    """A read-only copy of a stored payment attempt, for provider plugins."""

    attempt_id: str
    order_id: str
    provider: str
    state: AttemptState
    amount: Money
    provider_ref: str | None
    provider_data: Mapping[str, Any]
    created_at: datetime


#: Looks an attempt up by our transaction id; None if there is no such attempt.
FindAttempt = Callable[[str], Awaitable[AttemptView | None]]


@dataclass(frozen=True)
class NotificationRef:
    """What an authenticated notification is about.

    ``dedupe_key`` is equal for two deliveries of the same notification and different for two
    different ones (say, the transaction id plus the notified status). ``body_redacted`` is
    the raw body with every secret removed: it is stored for staff and support.
    """

    attempt_id: str
    dedupe_key: str
    body_redacted: str


class ReportedStatus(enum.StrEnum):
    """What the provider's own server says about a payment.

    ``REVIEW``: the provider's answer is contradictory or unknown: the core moves the attempt
    to REVIEW and audits ``data``; a person decides. It never makes an attempt SUCCEEDED, and
    never undoes one that already is.
    """

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REVIEW = "review"


@dataclass(frozen=True)
class ProviderStatus:
    """The authoritative, server-to-server answer about one attempt.

    ``amount`` is what the provider says was paid; the core compares it with the order and
    moves the attempt to REVIEW, never to SUCCEEDED, when amount or currency differ.
    ``data`` is stored in the audit trail: no secrets, no personal data beyond ids.

    ``buyer_message`` is shown to the buyer on the order's status page while the attempt stays
    pending (say, why their last try in a still-open session failed): a short plain sentence
    fit for the buyer, no secrets, no personal data, no raw provider answer. The core cuts it
    to ``BUYER_MESSAGE_LENGTH`` characters, removes control characters, and forgets it once
    the attempt is settled.
    """

    status: ReportedStatus
    amount: Money | None = None
    provider_ref: str | None = None
    reason: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    buyer_message: str = ""


#: The longest ``ProviderStatus.buyer_message`` a buyer is shown, in characters.
BUYER_MESSAGE_LENGTH: Final = 200


@runtime_checkable
class CredentialCheck(Protocol):
    """What a provider may add so that ``gated-delivery check`` can test its credentials.

    Optional: a provider without it is reported as "not checked" (a warning).
    """

    async def check_credentials(self) -> str:
        """Make one harmless authenticated call (a login, a token request) to the API.

        Return a short sentence saying what was accepted; raise ``ProviderError`` when the
        provider refuses the credentials and ``ProviderUnavailable`` when it cannot be
        reached. Never start a payment, never include a secret in the sentence.
        """
        ...


@runtime_checkable
class RefundCapable(Protocol):
    """What a provider may add so that staff can refund a paid order through it.

    Optional: for a provider without it, ``refunds.refund_order`` only records a refund made
    in the provider's own back office.
    """

    async def refund_payment(self, attempt: AttemptView) -> str:
        """Give the whole amount of the SUCCEEDED ``attempt`` back to the buyer.

        Return a short sentence saying what the provider did; raise ``ProviderError`` (with
        the provider's reason) when it refuses, having changed nothing. A repeat must not
        pay twice.
        """
        ...


@runtime_checkable
class PaymentProvider(Protocol):
    """A payment provider: start a payment, authenticate its webhooks, ask its server.

    ``name`` appears in URLs (``/payments/{name}/notify``) and in the database; never rename
    it. ``session_lifetime`` is how long the provider's payment page stays usable: after it,
    a payment the provider still calls pending is settled as EXPIRED by the reconciler.

    A provider whose API refuses some amounts may also define
    ``refuses_amount(amount: Money) -> str | None``: the reason it cannot take ``amount``, or
    None. The core then does not offer it for such an order, answers a forced start with 422
    and the reason, and ``products add`` warns the merchant.
    """

    name: str
    display_name: str
    session_lifetime: timedelta

    async def start_payment(self, request: PaymentRequest) -> PaymentStart:
        """Open a payment session; raise ``ProviderError`` (with the provider's code) on refusal.

        Never retry this call blindly: a timed-out initialisation may have succeeded.
        """
        ...

    async def verify_notification(
        self, raw: RawNotification, find_attempt: FindAttempt
    ) -> NotificationRef:
        """Authenticate the webhook or raise ``NotificationRejected``.

        Compare signatures and tokens with ``hmac.compare_digest``. The notification only
        names the payment; only ``check_status`` decides whether it is paid.
        """
        ...

    async def check_status(self, attempt: AttemptView) -> ProviderStatus:
        """Ask the provider's server where the payment stands.

        Raise ``ProviderUnavailable`` when it cannot be reached or answers 5xx: the job is
        retried with backoff and the payment stays as it is.
        """
        ...


# --- generators, storage, mail, staff --------------------------------------------------


@dataclass(frozen=True)
class GenerationRequest:
    """What a generator gets: a PAID order's answers and its uploaded documents' names."""

    order_id: str
    attempt_key: str
    product_slug: str
    buyer_name: str
    buyer_email: str
    answers: Mapping[str, Any]
    document_names: tuple[str, ...]


@dataclass(frozen=True)
class GeneratedDocument:
    """A generator's output; the core stores it once as the order's draft."""

    content: bytes
    filename: str
    media_type: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


class Generator(Protocol):
    """Produces the deliverable of a product from a paid order (an AI draft, say)."""

    name: str

    async def generate(self, request: GenerationRequest) -> GeneratedDocument:
        """Build the document. Raise ``RetryLater`` for transient trouble (rate limit,
        timeout); any other exception marks the generation failed with its message."""
        ...


@dataclass(frozen=True)
class StoredObject:
    """Where a storage backend put a file, and what it measured while writing it."""

    key: str
    size_bytes: int
    sha256: str


class StorageBackend(Protocol):
    """Private file storage. Keys are generated by the core, never taken from user input."""

    name: str

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredObject:
        """Write a file atomically from chunks; a failed write leaves nothing behind."""
        ...

    def open(self, key: str) -> AsyncIterator[bytes]:
        """Stream a stored file in chunks; raise ``FileNotFoundError`` if it is gone."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a stored file; removing a missing file is not an error."""
        ...


class MailTransport(Protocol):
    """Sends e-mail (SMTP, a folder, an API...)."""

    async def send(self, message: EmailMessage) -> None:
        """Send one message; raise to have the mail job retried."""
        ...


@dataclass(frozen=True)
class StaffUser:
    """A staff member, as the staff pages and the audit trail see them."""

    id: str
    email: str
    display_name: str = ""
    #: may manage webhook endpoints, which receive order data
    is_admin: bool = False


class StaffAuthenticator(Protocol):
    """Tells who, if anyone, is the staff member behind a request."""

    async def authenticate(self, request: Request) -> StaffUser | None:
        """The staff user of this request, or None to send them to the login page."""
        ...


@dataclass(frozen=True)
class FormField:
    """One question of a product's order form, as staff read its answer.

    ``name`` is the answer's key in ``Order.answers``; ``label`` the question in the staff
    language; ``choices`` maps each stored choice to its label (empty: shown as stored).
    """

    name: str
    label: str
    choices: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FormSchema:
    """The questions of a product's order form, in the order the buyer saw them."""

    fields: Sequence[FormField]


# --- the hooks --------------------------------------------------------------------------


@hookspec
def payment_providers(settings: CoreSettings) -> Iterable[PaymentProvider]:
    """Offer payment providers; called once, when the app or worker starts.

    ``settings`` are the core settings (a plugin reads its own variables itself). Return
    nothing if your variables are unset; if only some are set, raise ``ConfigurationError``
    naming the missing one. Two plugins offering the same ``name`` stop start-up.
    """


@hookspec
def generators(settings: CoreSettings) -> Iterable[Generator]:
    """Offer document generators; a product names the one it uses.

    ``settings`` are the core settings. Return nothing if your variables are unset.
    """


@hookspec
def storage_backends(settings: CoreSettings) -> Iterable[StorageBackend]:
    """Offer storage backends; ``GD_STORAGE`` picks one by name (default ``local``).

    ``settings`` are the core settings (``PRIVATE_MEDIA_ROOT`` among them).
    """


@hookspec(firstresult=True)
def mail_transport(settings: CoreSettings) -> MailTransport | None:
    """Return the mail transport to use, or None to let the next plugin decide.

    ``settings`` are the core settings. The built-in default writes each message as a
    ``.eml`` file under ``GD_MAIL_DIR``; installed plugins are asked first.
    """


@hookspec(firstresult=True)
def staff_authenticator(settings: CoreSettings) -> StaffAuthenticator | None:
    """Return how staff are authenticated, or None to keep the built-in login.

    ``settings`` are the core settings. A host app with its own users returns an object
    that reads its session and maps it to a ``StaffUser``.
    """


@hookspec(firstresult=True)
def form_schema(product_slug: str, lang: str) -> FormSchema | None:
    """Return the labels of a product's order form, or None to let the next plugin answer.

    ``product_slug`` names the product; ``lang`` is the reader's language (``fr`` or
    ``en``): return labels in it if you have them, else in your own. Staff pages, mails and
    ``gated-delivery orders show`` show answers under these labels; without a schema they
    fall back to the answer key made readable.
    """


@hookspec
def sandbox_routes(
    settings: CoreSettings, providers: Mapping[str, PaymentProvider]
) -> Iterable[BaseRoute]:
    """Offer routes mounted under ``/sandbox`` when ``GD_SANDBOX`` is on (simulators).

    ``settings`` are the core settings; ``providers`` the payment providers in use, by name.
    Mount yours under ``/sandbox/<your provider name>``.
    """


@hookspec
def payment_confirmed(order_id: str, attempt_id: str, amount: Money) -> Awaitable[None] | None:
    """Called once an order is PAID (``amount`` confirmed by the provider for ``attempt_id``).

    Called by the worker after the transaction committed, at least once: make it idempotent
    keyed on ``order_id``. ``order_id`` is the public order id. May be a coroutine function.
    """


@hookspec
def fulfilment_published(order_id: str, asset_id: str) -> Awaitable[None] | None:
    """Called once an order's deliverable is published (``asset_id`` is the delivered file).

    Called by the worker after the commit, at least once; ``order_id`` is the public order
    id. May be a coroutine function.
    """


@hookspec
def download_token_consumed(order_id: str, token_id: str, use_count: int) -> Awaitable[None] | None:
    """Called after a download link was used (``use_count`` uses so far of ``token_id``).

    Called by the worker after the commit, at least once; ``order_id`` is the public order
    id. May be a coroutine function.
    """
