"""The objects plugins hand over: the data classes and names of the hook specifications.

What payment providers, generators and storage backends receive and return, as frozen
dataclasses, with the enum and the constants they use. The hooks are in
``gated_delivery.hookspecs``, the protocols the hooks' objects follow in
``gated_delivery.plugin_protocols``; plugins import all of them from ``gated_delivery.api``.

The data classes section of ``docs/plugins.md`` is rendered from this module's docstrings and
``#:`` comments by ``python -m gated_delivery.hook_reference docs/plugins.md``; a test fails
when the two differ.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from gated_delivery.money import Money
from gated_delivery.states import AttemptState

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


@dataclass(frozen=True)
class StoredObject:
    """Where a storage backend put a file, and what it measured while writing it."""

    #: The key the file was saved under.
    key: str
    #: Its size.
    size_bytes: int
    #: Its SHA-256, hex.
    sha256: str


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
