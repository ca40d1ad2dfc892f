"""Every state and every move of the machines has words, in French and in English."""

from __future__ import annotations

import pytest

from gated_delivery import wording
from gated_delivery.models import JobState
from gated_delivery.states import (
    ATTEMPT,
    FULFILMENT,
    ORDER,
    AttemptState,
    FulfilmentState,
    PaymentStatus,
)

KINDS: list[tuple[wording.Kind, type]] = [
    ("payment", PaymentStatus),
    ("fulfilment", FulfilmentState),
    ("attempt", AttemptState),
    ("job", JobState),
]


@pytest.mark.parametrize(("kind", "states"), KINDS)
def test_every_state_has_words_in_both_languages(kind: wording.Kind, states: type) -> None:
    assert wording.known_states(kind) == {s.value for s in states}
    for state in states:
        french = wording.state_word(kind, state.value, "fr")
        english = wording.state_word(kind, state.value, "en")
        assert french
        assert english
        assert "_" not in french
        assert "_" not in english


@pytest.mark.parametrize("machine", [ATTEMPT, ORDER, FULFILMENT], ids=lambda m: m.name)
def test_every_reachable_state_has_a_history_sentence(machine: object) -> None:
    targets = {t for moves in machine.moves.values() for t in moves}  # type: ignore[attr-defined]
    missing = [t.value for t in targets if not wording.has_move_words(machine.name, t.value)]  # type: ignore[attr-defined]
    assert not missing


def test_a_confirmed_payment_names_its_provider() -> None:
    names = {"cinetpay": "CinetPay (Mobile Money, carte)"}
    line = wording.history_line(
        machine="payment attempt",
        event="transition",
        to_state="succeeded",
        actor="provider:cinetpay",
        lang="fr",
        providers=names,
    )
    assert line == "Paiement confirmé par CinetPay"
    english = wording.history_line(
        machine="payment attempt",
        event="transition",
        to_state="succeeded",
        actor="staff:lea@example.org",
        lang="en",
        providers=names,
        provider="cinetpay",
    )
    assert english == "Payment confirmed by CinetPay"


def test_states_read_as_words() -> None:
    assert wording.state_word("payment", "paid", "fr") == "Payé"
    assert wording.state_word("fulfilment", "draft_ready", "fr") == "Brouillon prêt"
    assert wording.state_word("fulfilment", "draft_ready", "en") == "Draft ready"


def test_unknown_codes_are_still_shown_readably() -> None:
    assert wording.state_word("payment", "on_hold", "fr") == "On hold"
    line = wording.history_line(
        machine="webhook", event="replayed_twice", to_state=None, actor="x", lang="fr", providers={}
    )
    assert line == "Webhook replayed twice"


def test_actors_in_words() -> None:
    assert wording.actor_words("buyer", "fr", {}) == "le client"
    assert wording.actor_words("staff:lea@example.org", "en", {}) == "lea@example.org"
    assert wording.actor_words("provider:wave", "fr", {"wave": "Wave"}) == "Wave"


def test_the_core_reasons_in_french_and_others_as_written() -> None:
    assert wording.reason_words("payment session opened", "fr") == "page de paiement ouverte"
    assert wording.reason_words("payment session opened", "en") == "payment session opened"
    assert wording.reason_words("client a payé en deux fois", "fr") == "client a payé en deux fois"
