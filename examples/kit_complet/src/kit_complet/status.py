"""What the buyer's order page says for each state of an order, and when it stops polling.

The sentences are the core's (``buyer_message``, the same as the status endpoint's), but for
a paid order in preparation, which names the product, and a few the order page adds.
"""

from __future__ import annotations

from dataclasses import dataclass

from gated_delivery.api import DELIVERABLE, FulfilmentState, PaymentStatus, buyer_message


@dataclass(frozen=True)
class Shown:
    """The sentence for a state, its tone (a CSS class), and what the page offers."""

    message: str
    tone: str
    can_pay: bool
    keeps_polling: bool


def shown(payment: PaymentStatus, fulfilment: FulfilmentState, noun: str) -> Shown:
    """What to show for an order in these states; ``noun`` names the product ("votre kit est")."""
    message = buyer_message(payment, fulfilment)
    if payment is PaymentStatus.PAID:
        if fulfilment in DELIVERABLE:
            return Shown(message, "ok", False, False)
        if fulfilment is FulfilmentState.REVOKED:
            return Shown("payé — accès suspendu, contactez-nous", "bad", False, False)
        return Shown(f"payé — {noun} en préparation", "ok", False, True)
    if payment is PaymentStatus.PENDING:
        # a buyer who left the provider's page may start again; the first success wins
        return Shown(message, "wait", True, True)
    if payment is PaymentStatus.FAILED:
        # mobile money may still confirm late: keep listening, but offer a new try
        return Shown(message, "bad", True, True)
    if payment is PaymentStatus.REVIEW:
        return Shown(message, "wait", False, True)
    if payment is PaymentStatus.REFUNDED:
        return Shown(message, "bad", False, False)
    return Shown(f"{message} — choisissez un moyen de paiement", "wait", True, False)
