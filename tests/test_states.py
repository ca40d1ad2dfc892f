"""The transition tables of ``gated_delivery.states`` and the order status they derive."""

from __future__ import annotations

import enum
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gated_delivery.errors import IllegalTransition
from gated_delivery.states import (
    ATTEMPT,
    FULFILMENT,
    MACHINES,
    NEEDS_PAYMENT,
    OPEN_ATTEMPTS,
    ORDER,
    UNSUCCESSFUL_ATTEMPTS,
    AttemptState,
    FulfilmentState,
    Machine,
    PaymentStatus,
    derive_payment_status,
)

A = AttemptState
P = PaymentStatus
F = FulfilmentState

MACHINE_IDS = ["attempt", "order", "fulfilment"]
MACHINE_STATES: list[tuple[Machine[enum.Enum], type[enum.Enum]]] = [
    (ATTEMPT, AttemptState),
    (ORDER, PaymentStatus),
    (FULFILMENT, FulfilmentState),
]


def forbidden_moves(moves: Mapping[enum.Enum, frozenset[enum.Enum]]) -> list[tuple[str, str]]:
    """Every (current, target) pair, current != target, that the table does not list."""
    states = list(moves)
    return [
        (current.value, target.value)
        for current in states
        for target in states
        if target is not current and target not in moves[current]
    ]


# --- check_move ------------------------------------------------------------------------


@pytest.mark.parametrize(("machine", "states"), MACHINE_STATES, ids=MACHINE_IDS)
def test_a_repeat_is_not_a_move_and_not_an_error(
    machine: Machine[enum.Enum], states: type[enum.Enum]
) -> None:
    for state in states:
        assert machine.check_move("subject-1", state, state) is False


@pytest.mark.parametrize(("machine", "states"), MACHINE_STATES, ids=MACHINE_IDS)
def test_every_listed_move_is_allowed(machine: Machine[enum.Enum], states: type[enum.Enum]) -> None:
    for current, targets in machine.moves.items():
        for target in targets:
            assert machine.check_move("subject-1", current, target) is True


@pytest.mark.parametrize(
    ("current", "target"), forbidden_moves(ATTEMPT.moves), ids=lambda s: str(s)
)
def test_attempt_moves_outside_the_table_raise(current: str, target: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        ATTEMPT.check_move("attempt att-42", A(current), A(target))
    message = str(caught.value)
    assert "payment attempt" in message
    assert "attempt att-42" in message
    assert f"from {current} to {target}" in message
    assert caught.value.machine == "payment attempt"
    assert caught.value.subject == "attempt att-42"
    assert caught.value.current == current
    assert caught.value.target == target


@pytest.mark.parametrize(("current", "target"), forbidden_moves(ORDER.moves), ids=lambda s: str(s))
def test_order_moves_outside_the_table_raise(current: str, target: str) -> None:
    with pytest.raises(
        IllegalTransition,
        match=f"order payment of order ord-7 cannot go from {current} to {target}",
    ):
        ORDER.check_move("order ord-7", P(current), P(target))


@pytest.mark.parametrize(
    ("current", "target"), forbidden_moves(FULFILMENT.moves), ids=lambda s: str(s)
)
def test_fulfilment_moves_outside_the_table_raise(current: str, target: str) -> None:
    with pytest.raises(
        IllegalTransition, match=f"fulfilment of order ord-7 cannot go from {current} to {target}"
    ):
        FULFILMENT.check_move("order ord-7", F(current), F(target))


def test_the_error_lists_the_allowed_moves() -> None:
    with pytest.raises(IllegalTransition) as caught:
        ORDER.check_move("order ord-7", P.PAID, P.FAILED)
    assert str(caught.value).endswith("it may go to refunded")


def test_the_error_says_when_a_state_is_final() -> None:
    with pytest.raises(IllegalTransition) as caught:
        ATTEMPT.check_move("attempt att-42", A.SUCCEEDED, A.FAILED)
    assert "nothing (final state)" in str(caught.value)


# --- the tables ------------------------------------------------------------------------


@pytest.mark.parametrize(("machine", "states"), MACHINE_STATES, ids=MACHINE_IDS)
def test_every_state_has_a_row(machine: Machine[enum.Enum], states: type[enum.Enum]) -> None:
    assert set(machine.moves) == set(states)


@pytest.mark.parametrize(("machine", "states"), MACHINE_STATES, ids=MACHINE_IDS)
def test_tables_are_closed(machine: Machine[enum.Enum], states: type[enum.Enum]) -> None:
    for current, targets in machine.moves.items():
        for target in targets:
            assert target in machine.moves, f"{current} -> {target}: {target} has no row"
            assert isinstance(target, states)


@pytest.mark.parametrize(("machine", "states"), MACHINE_STATES, ids=MACHINE_IDS)
def test_no_state_lists_itself(machine: Machine[enum.Enum], states: type[enum.Enum]) -> None:
    for current, targets in machine.moves.items():
        assert current not in targets


def test_machines_are_the_three_tables() -> None:
    assert [m.name for m in MACHINES] == ["payment attempt", "order payment", "fulfilment"]


def test_succeeded_is_final() -> None:
    assert ATTEMPT.is_final(A.SUCCEEDED)
    for target in AttemptState:
        if target is not A.SUCCEEDED:
            with pytest.raises(IllegalTransition):
                ATTEMPT.check_move("attempt att-42", A.SUCCEEDED, target)


def test_only_succeeded_refunded_and_revoked_are_final() -> None:
    finals = {s for machine in MACHINES for s in machine.moves if machine.is_final(s)}
    assert finals == {A.SUCCEEDED, P.REFUNDED, F.REVOKED}


@pytest.mark.parametrize("settled", sorted(UNSUCCESSFUL_ATTEMPTS))
def test_a_late_success_is_never_dropped(settled: AttemptState) -> None:
    # mobile money confirms late: a failed, cancelled or expired attempt can still be paid
    assert ATTEMPT.check_move("attempt att-42", settled, A.SUCCEEDED) is True
    assert ATTEMPT.check_move("attempt att-42", settled, A.REVIEW) is True


def test_paid_can_only_be_refunded() -> None:
    assert ORDER.moves[P.PAID] == frozenset({P.REFUNDED})


def test_states_that_need_payment_are_past_received() -> None:
    assert F.RECEIVED not in NEEDS_PAYMENT
    assert F.REVOKED not in NEEDS_PAYMENT
    assert {F.GENERATING, F.PUBLISHED, F.DELIVERED} <= NEEDS_PAYMENT


def test_open_and_unsuccessful_attempts_do_not_overlap() -> None:
    assert not OPEN_ATTEMPTS & UNSUCCESSFUL_ATTEMPTS
    assert A.SUCCEEDED not in OPEN_ATTEMPTS | UNSUCCESSFUL_ATTEMPTS


# --- derive_payment_status -------------------------------------------------------------


@pytest.mark.parametrize(
    "attempts",
    [[A.SUCCEEDED], [A.FAILED, A.PENDING], [A.REVIEW], [A.EXPIRED], []],
    ids=["succeeded", "pending", "review", "expired", "none"],
)
def test_refunded_is_sticky(attempts: list[AttemptState]) -> None:
    assert derive_payment_status(P.REFUNDED, attempts) is P.REFUNDED


@pytest.mark.parametrize(
    "attempts",
    [
        [A.SUCCEEDED],
        [A.FAILED, A.SUCCEEDED],
        [A.SUCCEEDED, A.REVIEW],
        [A.PENDING, A.SUCCEEDED, A.CANCELLED],
        [A.EXPIRED, A.EXPIRED, A.SUCCEEDED],
    ],
)
@pytest.mark.parametrize("current", [P.UNPAID, P.PENDING, P.FAILED, P.REVIEW, P.PAID])
def test_any_success_makes_the_order_paid(
    current: PaymentStatus, attempts: list[AttemptState]
) -> None:
    assert derive_payment_status(current, attempts) is P.PAID


@pytest.mark.parametrize(
    "attempts",
    [[A.REVIEW], [A.FAILED, A.REVIEW], [A.REVIEW, A.PENDING], [A.CANCELLED, A.REVIEW, A.EXPIRED]],
)
def test_review_without_success_makes_the_order_review(attempts: list[AttemptState]) -> None:
    assert derive_payment_status(P.PENDING, attempts) is P.REVIEW


@pytest.mark.parametrize(
    "attempts", [[A.PENDING], [A.FAILED, A.PENDING], [A.PENDING, A.CANCELLED, A.EXPIRED]]
)
@pytest.mark.parametrize("current", [P.UNPAID, P.PENDING, P.FAILED])
def test_an_open_attempt_makes_the_order_pending(
    current: PaymentStatus, attempts: list[AttemptState]
) -> None:
    assert derive_payment_status(current, attempts) is P.PENDING


@pytest.mark.parametrize(
    "attempts",
    [[A.FAILED], [A.CANCELLED], [A.EXPIRED], [A.FAILED, A.CANCELLED, A.EXPIRED]],
)
@pytest.mark.parametrize("current", [P.UNPAID, P.PENDING, P.FAILED])
def test_only_failures_make_the_order_failed(
    current: PaymentStatus, attempts: list[AttemptState]
) -> None:
    assert derive_payment_status(current, attempts) is P.FAILED


@pytest.mark.parametrize("current", list(PaymentStatus))
def test_no_attempt_keeps_the_current_status(current: PaymentStatus) -> None:
    assert derive_payment_status(current, []) is current


# An action on an order and its attempts: start an attempt, move attempt ``i`` to the
# ``j``-th state its row allows, or have staff refund the order.
Action = tuple[str, int, int]
actions = st.lists(
    st.tuples(
        st.sampled_from(["start", "move", "refund"]),
        st.integers(min_value=0, max_value=5),
        st.integers(min_value=0, max_value=6),
    ),
    max_size=30,
)


@given(actions)
def test_derived_status_is_always_a_legal_order_move(steps: list[Action]) -> None:
    """Whatever legal moves the attempts make, the derived order status is a legal move too."""
    status = P.UNPAID
    attempts: list[AttemptState] = []
    for kind, index, choice in steps:
        if kind == "start":
            attempts.append(A.CREATED)
        elif kind == "move" and attempts:
            i = index % len(attempts)
            allowed = sorted(ATTEMPT.moves[attempts[i]])
            if allowed:
                attempts[i] = allowed[choice % len(allowed)]
        elif kind == "refund" and status in (P.PAID, P.REVIEW):
            ORDER.check_move("order ord-7", status, P.REFUNDED)
            status = P.REFUNDED
        target = derive_payment_status(status, attempts)
        ORDER.check_move("order ord-7", status, target)  # raises if the derivation is illegal
        status = target
