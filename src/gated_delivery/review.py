"""Staff decisions on a payment attempt in REVIEW: accept it as paid, or record a refund.

An attempt lands in REVIEW when the provider confirmed a different amount or currency, or
confirmed a second payment for an order already paid. Only a person can settle it; both
decisions need a reason, which goes into the audit trail with the staff member's name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import delivery
from gated_delivery.db import lock
from gated_delivery.errors import ActionRefused, NotFound
from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.payments import update_order_status
from gated_delivery.runtime import Runtime
from gated_delivery.states import ATTEMPT, AttemptState, PaymentStatus
from gated_delivery.transitions import transition


async def accept_as_paid(
    rt: Runtime, order_id: str, attempt_id: str, *, actor: str, reason: str
) -> None:
    """Accept a REVIEW attempt as the order's payment: SUCCEEDED, and the order PAID.

    Refused (nothing changed) without a reason, when the attempt is not in REVIEW, or when
    another attempt already paid the order (a double payment is refunded, not accepted).
    """
    reason = _required(reason, "to accept a payment under review")
    async with _under_review(rt, order_id, attempt_id) as (session, order, attempt):
        if order.payment_status is PaymentStatus.REFUNDED:
            raise ActionRefused(f"order {order.id} was refunded; it cannot be paid again")
        paid_by = await session.execute(
            sa.select(PaymentAttempt.id).where(
                PaymentAttempt.order_id == order.id,
                PaymentAttempt.state == AttemptState.SUCCEEDED,
            )
        )
        if paid_by.first() is not None:
            raise ActionRefused(
                f"order {order.id} is already paid by another attempt: refund this one instead"
            )
        await _decide(
            rt, session, attempt, AttemptState.SUCCEEDED, actor, f"accepted by staff: {reason}"
        )
        await update_order_status(rt, session, order, actor=actor)
    rt.wake_worker()


async def mark_refunded(
    rt: Runtime, order_id: str, attempt_id: str, *, actor: str, reason: str
) -> None:
    """Record that the money of a REVIEW attempt went back to the buyer.

    A second payment of an order paid otherwise closes only that attempt (FAILED, the order
    stays PAID); otherwise the whole order is refunded through ``delivery.refund``.
    """
    reason = _required(reason, "to record a refund")
    async with _under_review(rt, order_id, attempt_id) as (session, order, attempt):
        if order.payment_status is PaymentStatus.PAID:
            await _decide(
                rt,
                session,
                attempt,
                AttemptState.FAILED,
                actor,
                f"second payment refunded: {reason}",
            )
            return
    await delivery.refund(rt, order_id, actor=actor, reason=reason)


def _required(reason: str, purpose: str) -> str:
    """The reason without its surrounding blanks; refused when nothing is left."""
    if not reason.strip():
        raise ActionRefused(f"a reason is required {purpose}")
    return reason.strip()


@asynccontextmanager
async def _under_review(
    rt: Runtime, order_id: str, attempt_id: str
) -> AsyncIterator[tuple[AsyncSession, Order, PaymentAttempt]]:
    """A transaction holding the order and its attempt locked, refused unless that attempt is
    under REVIEW; a refusal raised inside it rolls everything back."""
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        attempt = await lock(session, PaymentAttempt, attempt_id)
        if order is None or attempt is None or attempt.order_id != order.id:
            raise NotFound(f"no payment attempt {attempt_id!r} on order {order_id!r}")
        if attempt.state is not AttemptState.REVIEW:
            raise ActionRefused(
                f"payment attempt {attempt.id} is {attempt.state.value}, not under review"
            )
        yield session, order, attempt


async def _decide(
    rt: Runtime,
    session: AsyncSession,
    attempt: PaymentAttempt,
    target: AttemptState,
    actor: str,
    why: str,
) -> None:
    """Move the attempt under review out of REVIEW, with the staff member's reason."""
    now, owner = rt.clock.now(), attempt.order_id
    await transition(
        session, ATTEMPT, attempt, "state", target, now=now, order_id=owner, actor=actor, reason=why
    )
