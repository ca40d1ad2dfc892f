"""What the buyer's order page says for each state of an order, and when it stops polling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gated_delivery.states import FulfilmentState, PaymentStatus

DELIVERED: Final = frozenset({FulfilmentState.PUBLISHED, FulfilmentState.DELIVERED})


@dataclass(frozen=True)
class Shown:
    """The sentence for a state, its tone (a CSS class), and what the page offers."""

    message: str
    tone: str
    can_pay: bool
    keeps_polling: bool


def shown(payment: PaymentStatus, fulfilment: FulfilmentState, noun: str) -> Shown:
    """What to show for an order in these states; ``noun`` names the product ("votre kit")."""
    if payment is PaymentStatus.PAID:
        if fulfilment in DELIVERED:
            return Shown("payé — votre lien vous a été envoyé par e-mail", "ok", False, False)
        if fulfilment is FulfilmentState.REVOKED:
            return Shown("payé — accès suspendu, contactez-nous", "bad", False, False)
        return Shown(f"payé — {noun} en préparation", "ok", False, True)
    if payment is PaymentStatus.PENDING:
        # a buyer who left the provider's page may start again; the first success wins
        return Shown("paiement en attente de confirmation", "wait", True, True)
    if payment is PaymentStatus.FAILED:
        # mobile money may still confirm late: keep listening, but offer a new try
        return Shown("échec — réessayer ou choisir un autre moyen", "bad", True, True)
    if payment is PaymentStatus.REVIEW:
        return Shown("paiement en vérification par notre équipe", "wait", False, True)
    if payment is PaymentStatus.REFUNDED:
        return Shown("paiement remboursé", "bad", False, False)
    return Shown("en attente de paiement — choisissez un moyen de paiement", "wait", True, False)
