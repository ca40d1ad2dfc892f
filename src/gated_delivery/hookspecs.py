"""The plugin reference: every hook gated-delivery calls, and the objects plugins hand over.

Plugins are found through the entry-point group ``gated_delivery``; our own defaults (local
storage, the folder mail transport, the sandbox fake provider) are registered the same way,
first, so that any installed plugin is called before them. Hook implementations may accept
fewer arguments than the spec. Specs may gain arguments but never lose or rename one.

A payment provider is one module: a ``payment_providers`` hook returning an object that
follows ``PaymentProvider``. The core does everything else: orders, attempts, the webhook
pipeline, retries, reconciliation, audit and delivery. Every provider proves itself with
``gated_delivery.testing.ProviderContract`` run against its simulator, and follows the
sandbox conventions of ``sandbox_routes``.

The hook reference of ``docs/plugins.md`` is rendered from this module's docstrings and ``#:``
comments by ``python -m gated_delivery.hook_reference docs/plugins.md``; a test fails when
the two differ.
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

    Given to ``start_payment``. The three URLs are built from ``GD_BASE_URL`` and carry the
    order id (``?order=...``); a provider may add its own query parameters to them.
    """

    #: Our transaction id: unique per attempt (a retry is a new attempt), random, 22 letters
    #: and digits. Give it to the provider as its reference for the payment.
    attempt_id: str
    #: The public order id.
    order_id: str
    #: What to charge.
    amount: Money
    #: The product's title.
    description: str
    #: As given on the order.
    buyer_name: str
    #: As given on the order.
    buyer_email: str
    #: Where the provider sends the buyer back (``/payments/<name>/return``).
    return_url: str
    #: Where the provider sends its webhook (``/payments/<name>/notify``).
    notify_url: str
    #: Where the provider sends a buyer who cancels (the return page, ``&cancelled=1``).
    cancel_url: str
    #: The order's answers named in ``BUYER_DETAIL_KEYS``, as text, for providers that must
    #: identify the payer (CinetPay's card payments); a key the form did not collect is absent.
    buyer_details: Mapping[str, str] = field(default_factory=dict)


#: Form answers handed to providers in ``PaymentRequest.buyer_details`` when an order has
#: them: a phone number, a postal address (``country`` as ISO 3166 alpha-2), nothing else.
BUYER_DETAIL_KEYS: tuple[str, ...] = ("phone", "address", "city", "state", "zip_code", "country")


@dataclass(frozen=True)
class PaymentStart:
    """Where to send the buyer, and what to keep on the attempt until the notification.

    Returned by ``start_payment``; both kept values come back in ``AttemptView``.
    """

    #: The provider's payment page.
    redirect_url: str
    #: The provider's own id for the payment (its transaction or session id, as its back
    #: office shows it), if it gives one at the start; at most 200 characters. Not a secret:
    #: staff see it on the order page, in ``orders show`` and the exports, and log records
    #: carry it. When None, the first ``ProviderStatus.provider_ref`` fills it in; once set it
    #: never changes.
    provider_ref: str | None = None
    #: Stored on the attempt and handed back in ``AttemptView``; may hold per-attempt tokens
    #: (Orange Money's ``notif_token``); never shown to buyers or written to logs.
    provider_data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RawNotification:
    """A webhook exactly as received, given to ``verify_notification``.

    Nothing in it is trusted before the provider has authenticated it. Bodies over 64 KiB
    are refused (413) before any provider sees them, as are JSON bodies nested too deep.
    """

    #: The provider's ``name``.
    provider: str
    #: The HTTP method (``POST``; a ``GET`` is answered ``ok`` without reaching you).
    method: str
    #: The headers, names lower-cased; one value per name (the last when repeated).
    headers: Mapping[str, str]
    #: The query parameters, one value per name (the last when repeated).
    query: Mapping[str, str]
    #: The raw body, exactly as received and signed.
    body: bytes
    #: The path parameters of the route the webhook came in by: today always
    #: ``{"provider": <name>}``, from ``/payments/{provider}/notify``. A provider needs them
    #: only to tell apart routes that share its handler; they are not authenticated.
    path_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class AttemptView:
    """A read-only copy of a stored payment attempt, for provider plugins.

    Given to ``check_status`` and ``refund_payment``, returned by ``FindAttempt``.
    """

    #: Our transaction id (``PaymentRequest.attempt_id``).
    attempt_id: str
    #: The public order id.
    order_id: str
    #: The ``name`` of the provider the attempt was made with.
    provider: str
    #: Where the attempt stands (see ``docs/states.md``).
    state: AttemptState
    #: The amount asked.
    amount: Money
    #: The provider's id for the payment (``PaymentStart.provider_ref``), None if unknown yet.
    provider_ref: str | None
    #: What ``PaymentStart.provider_data`` held.
    provider_data: Mapping[str, Any]
    #: When the attempt was created (UTC).
    created_at: datetime


#: Looks an attempt up by our transaction id (of any provider: compare ``provider``); None if
#: there is no such attempt. Handed to ``verify_notification``.
FindAttempt = Callable[[str], Awaitable[AttemptView | None]]


@dataclass(frozen=True)
class NotificationRef:
    """What an authenticated notification is about, returned by ``verify_notification``.

    The core stores it and, when ``attempt_id`` names an attempt of this provider, queues one
    ``check_status`` of that attempt, in one transaction; the webhook is answered 200.
    """

    #: The attempt the notification names. Empty (or an attempt the core does not know, or
    #: another provider's) for a notification about no payment of ours: it is stored for the
    #: record, nothing is queued, and the provider is answered 200 so that it stops retrying.
    attempt_id: str
    #: Equal for two deliveries of the same notification and different for two different ones
    #: (say, the transaction id plus the notified status, or the event's own id): a repeat is
    #: answered 200 ``ok (duplicate)`` and queues nothing. Keys over 200 characters are hashed.
    dedupe_key: str
    #: The raw body with every secret removed: it is stored for staff and support.
    body_redacted: str


class ReportedStatus(enum.StrEnum):
    """What the provider's own server says about a payment, in ``ProviderStatus.status``.

    Translate the provider's own words into these at the plugin's edge; no provider
    vocabulary enters the core. ``REVIEW``: the provider's answer is contradictory or
    unknown: the core moves the attempt to REVIEW and audits ``data``; a person decides. It
    never makes an attempt SUCCEEDED, and never undoes one that already is.
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

    #: Where the payment stands. PENDING changes nothing (the check runs again later); a
    #: failure never undoes a success; a success for an order already paid through another
    #: attempt goes to REVIEW (a double payment, for staff to refund).
    status: ReportedStatus
    #: None when the answer carries no amount: a success then goes to REVIEW.
    amount: Money | None = None
    #: The provider's id for the payment; kept when the attempt has none yet.
    provider_ref: str | None = None
    #: A short explanation, kept in the audit trail as the move's reason.
    reason: str = ""
    #: Kept in the audit trail: strings (cut to 200 characters), numbers, booleans and None;
    #: other values are dropped.
    data: Mapping[str, Any] = field(default_factory=dict)
    #: Shown to the buyer on the order's status page while the attempt stays pending (why
    #: their last try in a still-open session failed); plain words, no secrets, no personal
    #: data. Cut to ``BUYER_MESSAGE_LENGTH`` characters and forgotten once settled.
    buyer_message: str = ""


#: The longest ``ProviderStatus.buyer_message`` a buyer is shown, in characters.
BUYER_MESSAGE_LENGTH: Final = 200


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


# --- generators, storage, mail, staff --------------------------------------------------


@dataclass(frozen=True)
class GenerationRequest:
    """What a generator gets: a PAID order's answers and its uploaded documents' names."""

    #: The public order id.
    order_id: str
    #: Names this generation round: the same when the job runs again, new when staff retry;
    #: an idempotency key for a paid API.
    attempt_key: str
    #: The product.
    product_slug: str
    #: As given on the order.
    buyer_name: str
    #: As given on the order.
    buyer_email: str
    #: The buyer's answers to the order form.
    answers: Mapping[str, Any]
    #: The names of the documents the buyer uploaded.
    document_names: tuple[str, ...]


@dataclass(frozen=True)
class GeneratedDocument:
    """A generator's output; the core stores it once as the order's draft."""

    #: The document.
    content: bytes
    #: Its file name, as the buyer will see it.
    filename: str
    #: Its media type.
    media_type: str
    #: Anything worth keeping (model, token counts...).
    metadata: Mapping[str, Any] = field(default_factory=dict)


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


@dataclass(frozen=True)
class StoredObject:
    """Where a storage backend put a file, and what it measured while writing it."""

    #: The key the file was saved under.
    key: str
    #: Its size.
    size_bytes: int
    #: Its SHA-256, hex.
    sha256: str


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


@dataclass(frozen=True)
class StaffUser:
    """A staff member, as the staff pages and the audit trail see them."""

    #: A stable id.
    id: str
    #: Their address.
    email: str
    #: Their name, optional.
    display_name: str = ""
    #: May manage webhook endpoints on the staff pages, which receive order data.
    is_admin: bool = False


class StaffAuthenticator(Protocol):
    """Tells who, if anyone, is the staff member behind a request."""

    async def authenticate(self, request: Request) -> StaffUser | None:
        """The staff user of this request (a Starlette ``Request``), or None to send them to
        the login page."""
        ...


@dataclass(frozen=True)
class FormField:
    """One question of a product's order form, as staff read its answer (in ``FormSchema``)."""

    #: The answer's key in the order's answers.
    name: str
    #: The question, in the reader's language.
    label: str
    #: Each stored choice and its label; empty: values shown as stored.
    choices: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FormSchema:
    """The questions of a product's order form, returned by ``form_schema``."""

    #: The questions, in the order the buyer saw them.
    fields: Sequence[FormField]


# --- the hooks --------------------------------------------------------------------------


@hookspec
def payment_providers(settings: CoreSettings) -> Iterable[PaymentProvider]:
    """Offer payment providers; called once, when the app or worker starts.

    ``settings`` are the core settings (a plugin reads its own variables itself). Return
    nothing if your variables are unset; if only some are set, raise ``ConfigurationError``
    naming the missing one. Two plugins offering the same ``name`` stop start-up.

    Each object returned must follow ``PaymentProvider`` (checked at start-up). The checkout
    page shows one button per provider offered.
    """


@hookspec
def generators(settings: CoreSettings) -> Iterable[Generator]:
    """Offer document generators; a product names the one it uses.

    ``settings`` are the core settings. Return nothing if your variables are unset.

    Each object follows ``Generator``; a product chooses one by its ``name``
    (``gated-delivery products add ... --generator NAME``).
    """


@hookspec
def storage_backends(settings: CoreSettings) -> Iterable[StorageBackend]:
    """Offer storage backends; ``GD_STORAGE`` picks one by name (default ``local``).

    ``settings`` are the core settings (``PRIVATE_MEDIA_ROOT`` among them).

    Each object follows ``StorageBackend``. The core's default offers ``local``, a private
    folder under ``PRIVATE_MEDIA_ROOT``. A ``GD_STORAGE`` naming no backend stops start-up,
    listing the installed ones.
    """


@hookspec(firstresult=True)
def mail_transport(settings: CoreSettings) -> MailTransport | None:
    """Return the mail transport to use, or None to let the next plugin decide.

    ``settings`` are the core settings. The built-in default writes each message as a
    ``.eml`` file under ``GD_MAIL_DIR``; installed plugins are asked first. The object
    follows ``MailTransport``.
    """


@hookspec(firstresult=True)
def staff_authenticator(settings: CoreSettings) -> StaffAuthenticator | None:
    """Return how staff are authenticated, or None to keep the built-in login.

    ``settings`` are the core settings. A host app with its own users returns an object
    that reads its session and maps it to a ``StaffUser``, following ``StaffAuthenticator``.
    """


@hookspec(firstresult=True)
def form_schema(product_slug: str, lang: str) -> FormSchema | None:
    """Return the labels of a product's order form, or None to let the next plugin answer.

    ``product_slug`` names the product; ``lang`` is the reader's language (``fr`` or
    ``en``): return labels in it if you have them, else in your own. The staff order page,
    the staff mails and ``gated-delivery orders show`` then show each answer under its label,
    a multiple choice as a list of choice labels and a long text with its paragraphs; the raw
    keys stay in ``orders show --json`` and the exports. Without a schema an answer key is
    shown made readable (``mission_text`` as "Mission text"). For example::

        @hookimpl
        def form_schema(product_slug: str, lang: str) -> FormSchema | None:
            if product_slug != "kit-complet":
                return None
            return FormSchema(
                fields=[
                    FormField("organization_name", "Nom de l'organisation"),
                    FormField("audits_types", "Types d'audit", {"financier": "Audit financier"}),
                ]
            )
    """


@hookspec
def sandbox_routes(
    settings: CoreSettings, providers: Mapping[str, PaymentProvider]
) -> Iterable[BaseRoute]:
    """Offer routes mounted under ``/sandbox`` when ``GD_SANDBOX`` is on (simulators).

    ``settings`` are the core settings; ``providers`` the payment providers in use, by name.
    The routes are Starlette routes added to the app as they are, never outside sandbox mode.

    The sandbox conventions, which every provider plugin shipped with the core follows:

    - Mount your simulator under ``/sandbox/<your provider name>`` and give the routes their
      full path (``Route("/sandbox/examplepay/pay/{attempt_id}", ...)``).
    - With none of your variables set, offer your provider only when ``settings.sandbox`` is
      on, pointed at that simulator (``settings.base_url`` + its prefix), with sandbox
      credentials only the simulator accepts (fixed public ones, or derived from
      ``GD_SECRET_KEY``); with them set, talk to the real API.
    - Return no route unless ``providers[<your name>]`` is your provider pointed at your
      simulator: a simulator must never hold a real key.
    - Run the real client code against the simulator, and run ``ProviderContract`` on it.
    """


@hookspec
def payment_confirmed(order_id: str, attempt_id: str, amount: Money) -> Awaitable[None] | None:
    """Called once an order is PAID (``amount`` confirmed by the provider for ``attempt_id``).

    Called by the worker after the transaction committed, at least once: make it idempotent
    keyed on ``order_id``. ``order_id`` is the public order id. May be a coroutine function.
    It runs from an outbox job: a failing implementation is retried with backoff.
    """


@hookspec
def fulfilment_published(order_id: str, asset_id: str) -> Awaitable[None] | None:
    """Called once an order's deliverable is published (``asset_id`` is the delivered file).

    Called by the worker after the commit, at least once: keep it idempotent; ``order_id``
    is the public order id. May be a coroutine function. It runs from an outbox job: a
    failing implementation is retried with backoff.
    """


@hookspec
def download_token_consumed(order_id: str, token_id: str, use_count: int) -> Awaitable[None] | None:
    """Called after a download link was used (``use_count`` uses so far of ``token_id``).

    Called by the worker after the commit, at least once: keep it idempotent; ``order_id``
    is the public order id. May be a coroutine function. It runs from an outbox job: a
    failing implementation is retried with backoff.
    """
