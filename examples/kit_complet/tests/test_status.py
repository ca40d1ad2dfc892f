"""What the order page says and offers in each state (status.py)."""

from __future__ import annotations

import pytest
from kit_complet.status import shown

from gated_delivery.states import FulfilmentState, PaymentStatus

P, F = PaymentStatus, FulfilmentState


@pytest.mark.parametrize(
    ("payment", "fulfilment", "message", "can_pay", "keeps_polling"),
    [
        (
            P.UNPAID,
            F.RECEIVED,
            "en attente de paiement — choisissez un moyen de paiement",
            True,
            False,
        ),
        (P.PENDING, F.RECEIVED, "paiement en attente de confirmation", True, True),
        (P.FAILED, F.RECEIVED, "échec — réessayer ou choisir un autre moyen", True, True),
        (P.PAID, F.GENERATING, "payé — votre kit est en préparation", False, True),
        (P.PAID, F.DRAFT_READY, "payé — votre kit est en préparation", False, True),
        (P.PAID, F.PUBLISHED, "payé — votre lien vous a été envoyé par e-mail", False, False),
        (P.PAID, F.DELIVERED, "payé — votre lien vous a été envoyé par e-mail", False, False),
        (P.PAID, F.REVOKED, "payé — accès suspendu, contactez-nous", False, False),
        (P.REVIEW, F.RECEIVED, "paiement en vérification par notre équipe", False, True),
        (P.REFUNDED, F.REVOKED, "paiement remboursé", False, False),
    ],
)
def test_each_state_has_its_sentence_and_its_offer(
    payment: PaymentStatus,
    fulfilment: FulfilmentState,
    message: str,
    can_pay: bool,
    keeps_polling: bool,
) -> None:
    state = shown(payment, fulfilment, "votre kit est")
    assert (state.message, state.can_pay, state.keeps_polling) == (message, can_pay, keeps_polling)
