"""What the shop's systems are told: each event type, when it is sent, and its data.

``docs/webhooks.md`` carries the table ``render_markdown`` makes from this module; a test
fails when the two disagree (``python -m gated_delivery.webhooks.events`` prints it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.states import ATTEMPT, FULFILMENT, ORDER


@dataclass(frozen=True)
class EventType:
    """One kind of event: its name, when it is sent, and the keys of its ``data``."""

    name: str
    sent_when: str
    fields: tuple[str, ...]


#: What every key of an event's ``data`` holds.
FIELDS: Final[Mapping[str, str]] = {
    "order_id": "the order's public id",
    "product": "the product's slug",
    "tier": "the price tier's id",
    "amount_minor": "the order's price, an integer in the currency's minor unit",
    "currency": "ISO 4217 code of the price",
    "payment_status": "the order's payment status after the change",
    "fulfilment_status": "the order's fulfilment status after the change",
    "attempt_id": "the payment attempt concerned",
    "provider": "the payment provider of that attempt",
    "attempt_state": "that attempt's state after the change",
    "token_id": "the download link revoked",
    "buyer": "``{name, email}``, only for endpoints created with ``--include-buyer``",
}

ORDER_FIELDS: Final = (
    "order_id",
    "product",
    "tier",
    "amount_minor",
    "currency",
    "payment_status",
    "fulfilment_status",
)
ATTEMPT_FIELDS: Final = (*ORDER_FIELDS[:5], "attempt_id", "provider", "attempt_state")

EVENTS: Final = (
    EventType("order.created", "an order is placed (unpaid)", ORDER_FIELDS),
    EventType(
        "order.paid",
        "the provider confirmed the payment (or staff accepted one under review)",
        (*ORDER_FIELDS, "attempt_id", "provider"),
    ),
    EventType(
        "payment.failed", "a payment attempt failed, was cancelled or expired", ATTEMPT_FIELDS
    ),
    EventType(
        "payment.review",
        "a payment needs staff review (amount differs, or a second payment)",
        ATTEMPT_FIELDS,
    ),
    EventType("fulfilment.draft_ready", "the generated draft is stored", ORDER_FIELDS),
    EventType("fulfilment.published", "the deliverable is released to the buyer", ORDER_FIELDS),
    EventType("fulfilment.delivered", "the buyer downloaded the deliverable", ORDER_FIELDS),
    EventType("order.refunded", "staff recorded a refund", ORDER_FIELDS),
    EventType("link.revoked", "a download link was revoked", (*ORDER_FIELDS, "token_id")),
)
BY_NAME: Final[Mapping[str, EventType]] = {e.name: e for e in EVENTS}

#: Which state-machine moves (machine name, target state) send which event.
TRANSITION_EVENTS: Final[Mapping[tuple[str, str], str]] = {
    (ORDER.name, "paid"): "order.paid",
    (ORDER.name, "refunded"): "order.refunded",
    (ATTEMPT.name, "failed"): "payment.failed",
    (ATTEMPT.name, "cancelled"): "payment.failed",
    (ATTEMPT.name, "expired"): "payment.failed",
    (ATTEMPT.name, "review"): "payment.review",
    (FULFILMENT.name, "draft_ready"): "fulfilment.draft_ready",
    (FULFILMENT.name, "published"): "fulfilment.published",
    (FULFILMENT.name, "delivered"): "fulfilment.delivered",
}


def order_data(order: Order) -> dict[str, Any]:
    """The order's part of an event: ids, price, product and states, no personal data."""
    return {
        "order_id": order.id,
        "product": order.product.slug,
        "tier": order.tier_id,
        "amount_minor": order.amount_minor,
        "currency": order.currency,
        "payment_status": order.payment_status.value,
        "fulfilment_status": order.fulfilment_status.value,
    }


def attempt_data(order: Order, attempt: PaymentAttempt) -> dict[str, Any]:
    """A payment attempt's event data (the attempt's own price: it is what was asked)."""
    return {
        "order_id": order.id,
        "product": order.product.slug,
        "tier": order.tier_id,
        "amount_minor": attempt.amount_minor,
        "currency": attempt.currency,
        "attempt_id": attempt.id,
        "provider": attempt.provider,
        "attempt_state": attempt.state.value,
    }


def render_markdown() -> str:
    """The events table of ``docs/webhooks.md``."""
    lines = ["| event | sent when | data |", "|---|---|---|"]
    for event in EVENTS:
        fields = ", ".join(f"`{name}`" for name in event.fields)
        lines.append(f"| `{event.name}` | {event.sent_when} | {fields} |")
    lines += ["", "| data key | holds |", "|---|---|"]
    lines += [f"| `{name}` | {text} |" for name, text in FIELDS.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
