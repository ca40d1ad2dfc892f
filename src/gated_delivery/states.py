"""The three state machines, as data.

Each machine is a table of allowed moves. ``check_move`` is the only judge of a move;
``gated_delivery.transitions`` applies it to a locked row with its audit event and jobs.
``docs/states.md`` is rendered from these tables (``python -m gated_delivery.states``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from gated_delivery.errors import IllegalTransition


class AttemptState(enum.StrEnum):
    """Where one payment attempt with one provider stands."""

    CREATED = "created"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REVIEW = "review"


class PaymentStatus(enum.StrEnum):
    """An order's payment status, derived from its attempts (and staff decisions)."""

    UNPAID = "unpaid"
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    REVIEW = "review"
    REFUNDED = "refunded"


class FulfilmentState(enum.StrEnum):
    """How far the deliverable of an order has come."""

    RECEIVED = "received"
    QUEUED = "queued"
    GENERATING = "generating"
    DRAFT_READY = "draft_ready"
    GENERATION_FAILED = "generation_failed"
    FINAL_UPLOADED = "final_uploaded"
    PUBLISHED = "published"
    DELIVERED = "delivered"
    REVOKED = "revoked"


S = TypeVar("S", bound=enum.Enum)

A = AttemptState
ATTEMPT_MOVES: Final[Mapping[AttemptState, frozenset[AttemptState]]] = {
    # CREATED -> SUCCEEDED | REVIEW: the provider's word arrived before our start committed
    A.CREATED: frozenset({A.PENDING, A.SUCCEEDED, A.FAILED, A.CANCELLED, A.EXPIRED, A.REVIEW}),
    A.PENDING: frozenset({A.SUCCEEDED, A.FAILED, A.CANCELLED, A.EXPIRED, A.REVIEW}),
    # mobile money confirms late: the buyer's money was taken, we never drop it
    A.FAILED: frozenset({A.SUCCEEDED, A.REVIEW}),
    A.CANCELLED: frozenset({A.SUCCEEDED, A.REVIEW}),
    A.EXPIRED: frozenset({A.SUCCEEDED, A.REVIEW}),
    # staff resolve a review: accept as paid, or refuse (refunded to the buyer)
    A.REVIEW: frozenset({A.SUCCEEDED, A.FAILED}),
    A.SUCCEEDED: frozenset(),
}

P = PaymentStatus
ORDER_MOVES: Final[Mapping[PaymentStatus, frozenset[PaymentStatus]]] = {
    # the status follows the attempts: an attempt settled before it was marked pending
    # takes the order straight from UNPAID to its outcome
    P.UNPAID: frozenset({P.PENDING, P.PAID, P.FAILED, P.REVIEW}),
    P.PENDING: frozenset({P.PAID, P.FAILED, P.REVIEW}),
    # a buyer may retry with another attempt; a late confirmation may still arrive
    P.FAILED: frozenset({P.PENDING, P.PAID, P.REVIEW}),
    P.REVIEW: frozenset({P.PAID, P.REFUNDED, P.PENDING, P.FAILED}),
    P.PAID: frozenset({P.REFUNDED}),
    P.REFUNDED: frozenset(),
}

F = FulfilmentState
FULFILMENT_MOVES: Final[Mapping[FulfilmentState, frozenset[FulfilmentState]]] = {
    # RECEIVED -> PUBLISHED: a stored file, no generation, no review
    # RECEIVED -> FINAL_UPLOADED: staff review without generation
    F.RECEIVED: frozenset({F.QUEUED, F.FINAL_UPLOADED, F.PUBLISHED, F.REVOKED}),
    F.QUEUED: frozenset({F.GENERATING, F.REVOKED}),
    # GENERATING -> QUEUED: a worker died mid-generation and the job is run again
    F.GENERATING: frozenset({F.DRAFT_READY, F.GENERATION_FAILED, F.QUEUED, F.REVOKED}),
    F.GENERATION_FAILED: frozenset({F.QUEUED, F.FINAL_UPLOADED, F.REVOKED}),
    # DRAFT_READY -> PUBLISHED: the draft is the deliverable when no review is needed
    F.DRAFT_READY: frozenset({F.FINAL_UPLOADED, F.PUBLISHED, F.REVOKED}),
    F.FINAL_UPLOADED: frozenset({F.PUBLISHED, F.REVOKED}),
    F.PUBLISHED: frozenset({F.DELIVERED, F.REVOKED}),
    F.DELIVERED: frozenset({F.REVOKED}),
    F.REVOKED: frozenset(),
}

#: Fulfilment states that need the order to be PAID to be entered.
NEEDS_PAYMENT: Final[frozenset[FulfilmentState]] = frozenset(
    {F.QUEUED, F.GENERATING, F.DRAFT_READY, F.FINAL_UPLOADED, F.PUBLISHED, F.DELIVERED}
)


@dataclass(frozen=True)
class Machine(Generic[S]):
    """A named transition table."""

    name: str
    moves: Mapping[S, frozenset[S]]

    def check_move(self, subject: str, current: S, target: S) -> bool:
        """True if ``current -> target`` is a move to make, False if it is a repeat.

        A repeat (``current is target``) is not an error: a duplicated webhook lands here.
        Any other move outside the table raises ``IllegalTransition``.
        """
        if current is target:
            return False
        allowed = self.moves[current]
        if target not in allowed:
            raise IllegalTransition(
                self.name, subject, current.value, target.value, [s.value for s in allowed]
            )
        return True

    def is_final(self, state: S) -> bool:
        """True if nothing can follow ``state``."""
        return not self.moves[state]


ATTEMPT: Final = Machine[AttemptState]("payment attempt", ATTEMPT_MOVES)
ORDER: Final = Machine[PaymentStatus]("order payment", ORDER_MOVES)
FULFILMENT: Final = Machine[FulfilmentState]("fulfilment", FULFILMENT_MOVES)
MACHINES: Final = (ATTEMPT, ORDER, FULFILMENT)

#: Attempt states that count as "the provider has not settled this yet".
OPEN_ATTEMPTS: Final = frozenset({A.CREATED, A.PENDING})
#: Attempt states in which the buyer's money did not (yet) reach us.
UNSUCCESSFUL_ATTEMPTS: Final = frozenset({A.FAILED, A.CANCELLED, A.EXPIRED})


def derive_payment_status(current: PaymentStatus, attempts: list[AttemptState]) -> PaymentStatus:
    """The order status its attempts imply.

    REFUNDED is a staff decision and stays. A SUCCEEDED attempt makes the order PAID; an
    attempt in REVIEW with no success makes it REVIEW; a PENDING attempt makes it PENDING;
    only settled failures make it FAILED. Otherwise (no attempt, or only CREATED ones whose
    provider has not answered yet) the status is left as it is.
    """
    if current is P.REFUNDED:
        return current
    if A.SUCCEEDED in attempts:
        return P.PAID
    if A.REVIEW in attempts:
        return P.REVIEW
    if A.PENDING in attempts:
        return P.PENDING
    if any(a in UNSUCCESSFUL_ATTEMPTS for a in attempts):
        return P.FAILED
    return current


def render_markdown() -> str:
    """The three tables as Markdown, for ``docs/states.md``."""
    lines = [
        "# State machines",
        "",
        "Generated from `gated_delivery/states.py` by `python -m gated_delivery.states`;",
        "a test fails when this page and the code disagree. A move to the same state is a",
        "repeat (a duplicated webhook), accepted and ignored; any move not listed raises",
        "`IllegalTransition` and changes nothing.",
    ]
    for machine in MACHINES:
        lines += ["", f"## {machine.name.capitalize()}", "", "| from | may go to |", "|---|---|"]
        for state, targets in machine.moves.items():
            ordered = [s.value.upper() for s in type(state) if s in targets]
            lines.append(f"| {state.value.upper()} | {', '.join(ordered) or '(final)'} |")
    lines += [
        "",
        "Fulfilment states that need the order to be PAID: "
        + ", ".join(s.value.upper() for s in FulfilmentState if s in NEEDS_PAYMENT)
        + ".",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
