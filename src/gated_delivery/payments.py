"""Payments: taking in notifications, settling with the provider's word.

Only ``settle`` moves a payment, and only with what the provider's server said
(``check_status``). Notifications and return-page visits merely queue a check.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import audit_names, job_kinds, logcontext, metrics
from gated_delivery.db import lock
from gated_delivery.errors import (
    NotFound,
    RetryLater,
)
from gated_delivery.intake import store_and_queue
from gated_delivery.models import Notification, Order, PaymentAttempt
from gated_delivery.plugin_protocols import PaymentProvider
from gated_delivery.plugin_types import (
    BUYER_MESSAGE_LENGTH,
    AttemptView,
    ProviderStatus,
    RawNotification,
    ReportedStatus,
)
from gated_delivery.runtime import Runtime
from gated_delivery.states import (
    ATTEMPT,
    OPEN_ATTEMPTS,
    ORDER,
    AttemptState,
    PaymentStatus,
    derive_payment_status,
)
from gated_delivery.text import one_line
from gated_delivery.transitions import JobSpec, audit, enqueue, scalars_only, transition

log = logging.getLogger(__name__)


_FAILURES: Final = {
    ReportedStatus.FAILED: AttemptState.FAILED,
    ReportedStatus.CANCELLED: AttemptState.CANCELLED,
    ReportedStatus.EXPIRED: AttemptState.EXPIRED,
}


def view(attempt: PaymentAttempt) -> AttemptView:
    """The read-only copy of an attempt that provider plugins get."""
    return AttemptView(
        attempt_id=attempt.id,
        order_id=attempt.order_id,
        provider=attempt.provider,
        state=attempt.state,
        amount=attempt.price,
        provider_ref=attempt.provider_ref,
        provider_data=dict(attempt.provider_data),
        created_at=attempt.created_at,
    )


# --- notifications -------------------------------------------------------------------


async def find_attempt(session: AsyncSession, attempt_id: str) -> AttemptView | None:
    """The attempt with this id, as a view; None if unknown."""
    attempt = await session.get(PaymentAttempt, attempt_id) if attempt_id else None
    return view(attempt) if attempt is not None else None


async def receive_notification(
    rt: Runtime, provider: PaymentProvider, raw: RawNotification
) -> bool:
    """Authenticate, then store, dedupe and queue a check in one atomic step.

    Returns False for a duplicate (already stored). ``NotificationRejected`` from the
    provider propagates with nothing written; the caller audits it.
    """

    async def lookup(attempt_id: str) -> AttemptView | None:
        async with rt.db.transaction() as session:
            found = await find_attempt(session, attempt_id)
        if found is not None:  # the request's log records now name the order
            logcontext.add(order_id=found.order_id, provider_ref=found.provider_ref)
        return found

    ref = await provider.verify_notification(raw, lookup)
    logcontext.add(attempt_id=ref.attempt_id)
    if "order_id" not in logcontext.current():
        await lookup(ref.attempt_id)  # the provider did not look it up, nor name the order
    is_new = await store_and_queue(rt.db, provider.name, ref, now=rt.clock.now())
    log.info("notification received" if is_new else "notification received again (duplicate)")
    metrics.NOTIFICATIONS.labels(provider.name, "new" if is_new else "duplicate").inc()
    return is_new


async def audit_rejection(rt: Runtime, provider: str, reason: str, order_hint: str | None) -> None:
    """Record a refused notification (no state changes); ``order_hint`` only if it exists."""
    async with rt.db.transaction() as session:
        order_id = None
        if order_hint and await session.get(Order, order_hint) is not None:
            order_id = order_hint
        audit(
            session,
            now=rt.clock.now(),
            order_id=order_id,
            machine=audit_names.WEBHOOK,
            subject_id=provider,
            event="rejected",
            actor=f"provider:{provider}",
            reason=reason[:500],
        )


async def buyer_returned(rt: Runtime, order_id: str) -> Order:
    """The buyer is back from the provider's page: the order, its payment checked if open.

    A pending or failed payment is asked about at once (once a minute at most), in case its
    notification is late or lost. Nothing is ever delivered from here. ``NotFound`` for an
    unknown order.
    """
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id)
        if order is None:
            raise NotFound(f"no order {order_id!r}")
    if order.payment_status in (PaymentStatus.PENDING, PaymentStatus.FAILED):
        await request_check(rt, order.id, bucket=rt.clock.now().strftime("%Y%m%d%H%M"))
        rt.wake_worker()
    return order


async def request_check(rt: Runtime, order_id: str, *, bucket: str) -> None:
    """Queue a status check of the order's open attempts (the return page does this).

    ``bucket`` (say, the current minute) limits it to one check per attempt per bucket.
    """
    async with rt.db.transaction() as session:
        attempts = (
            await session.execute(
                sa.select(PaymentAttempt).where(
                    PaymentAttempt.order_id == order_id,
                    PaymentAttempt.state.in_(list(OPEN_ATTEMPTS)),
                )
            )
        ).scalars()
        now = rt.clock.now()
        for attempt in attempts:
            await enqueue(
                session,
                job_kinds.verify_job(
                    attempt.id, attempt.order_id, dedupe_key=f"check:{attempt.id}:{bucket}"
                ),
                now=now,
            )


# --- settling ------------------------------------------------------------------------


async def verify_attempt(rt: Runtime, attempt_id: str, *, actor: str = "worker") -> AttemptState:
    """Ask the provider about an attempt and settle it; the ``verify_payment`` job.

    Raises ``ProviderUnavailable`` (retry later) when the provider cannot be reached and
    ``RetryLater`` when it still reports the payment pending.
    """
    async with rt.db.transaction() as session:
        attempt = await session.get(PaymentAttempt, attempt_id)
        if attempt is None:
            raise NotFound(f"no payment attempt {attempt_id!r}")
        snapshot = view(attempt)
    # bound here, not by the caller: the reconciler checks many attempts in one loop
    with logcontext.bind(
        order_id=snapshot.order_id,
        attempt_id=attempt_id,
        provider=snapshot.provider,
        provider_ref=snapshot.provider_ref,
    ):
        status = await rt.provider(snapshot.provider).check_status(snapshot)
        logcontext.add(provider_ref=snapshot.provider_ref or status.provider_ref)
        log.info("provider check: %s reports %s", snapshot.provider, status.status.value)
        metrics.CHECKS.labels(snapshot.provider, status.status.value).inc()
        state = await settle(rt, attempt_id, status, actor=actor)
    if status.status is ReportedStatus.PENDING and state in OPEN_ATTEMPTS:
        raise RetryLater(f"{snapshot.provider} still reports attempt {attempt_id} pending")
    return state


async def settle(
    rt: Runtime, attempt_id: str, status: ProviderStatus, *, actor: str
) -> AttemptState:
    """Apply the provider's authoritative answer to an attempt and its order.

    Locks the order, then the attempt (always in this order, so racing settlers queue
    instead of deadlocking). Success with a different amount or currency goes to REVIEW;
    success on an order already paid another way goes to REVIEW (a double payment to refund);
    a REVIEW answer goes to REVIEW. The provider's ``buyer_message`` is kept for the buyer's
    page while the attempt stays open, and cleared once it is settled.
    """
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        order_id = (
            await session.execute(
                sa.select(PaymentAttempt.order_id).where(PaymentAttempt.id == attempt_id)
            )
        ).scalar_one()
        order = await lock(session, Order, order_id)
        attempt = await lock(session, PaymentAttempt, attempt_id)
        assert order is not None
        assert attempt is not None
        attempt.last_checked_at = now
        target, reason = _target(order, attempt, status)
        if target is not None:
            if status.amount is not None and target in (
                AttemptState.SUCCEEDED,
                AttemptState.REVIEW,
            ):
                attempt.confirmed_amount_minor = status.amount.amount_minor
                attempt.confirmed_currency = status.amount.currency
            if status.provider_ref and not attempt.provider_ref:
                attempt.provider_ref = status.provider_ref
            await transition(
                session,
                ATTEMPT,
                attempt,
                "state",
                target,
                now=now,
                order_id=order.id,
                actor=actor,
                reason=reason,
                data={"reported": status.status.value, **scalars_only(status.data)},
            )
            await update_order_status(rt, session, order, actor=actor)
        # the buyer sees the provider's latest word while the attempt is open, never after
        open_now = attempt.state in OPEN_ATTEMPTS
        attempt.buyer_message = (
            one_line(status.buyer_message, BUYER_MESSAGE_LENGTH) if open_now else ""
        )
        return attempt.state


def _target(
    order: Order, attempt: PaymentAttempt, status: ProviderStatus
) -> tuple[AttemptState | None, str]:
    current = attempt.state
    if status.status is ReportedStatus.PENDING:
        return None, ""
    if status.status is ReportedStatus.REVIEW:
        if current in (AttemptState.SUCCEEDED, AttemptState.REVIEW):
            return None, ""  # a review never undoes a success; staff already look
        return AttemptState.REVIEW, status.reason or "the provider's answer needs a person"
    if status.status is ReportedStatus.SUCCEEDED:
        if current in (AttemptState.SUCCEEDED, AttemptState.REVIEW):
            return None, ""  # confirmed once, or waiting for staff: nothing more to do
        if status.amount != attempt.price:
            got = str(status.amount) if status.amount else "no amount"
            return AttemptState.REVIEW, f"provider confirmed {got}, the order is {attempt.price}"
        if order.payment_status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
            return (
                AttemptState.REVIEW,
                "the order was already paid by another attempt; refund this one",
            )
        return AttemptState.SUCCEEDED, status.reason or "confirmed by the provider"
    if current in OPEN_ATTEMPTS:
        return _FAILURES[status.status], status.reason or f"provider reports {status.status.value}"
    return None, ""  # a late failure never undoes a success or a settled failure


async def update_order_status(
    rt: Runtime, session: AsyncSession, order: Order, *, actor: str = "system"
) -> bool:
    """Move the (locked) order to the status its attempts imply, with the jobs PAID needs."""
    states = list(
        (
            await session.execute(
                sa.select(PaymentAttempt.state).where(PaymentAttempt.order_id == order.id)
            )
        ).scalars()
    )
    target = derive_payment_status(order.payment_status, states)
    jobs: list[JobSpec] = []
    now = rt.clock.now()
    if target is PaymentStatus.PAID and order.payment_status is not PaymentStatus.PAID:
        order.paid_at = now
        paid = (
            await session.execute(
                sa.select(PaymentAttempt).where(
                    PaymentAttempt.order_id == order.id,
                    PaymentAttempt.state == AttemptState.SUCCEEDED,
                )
            )
        ).scalar_one()
        await _observe_time_to_paid(session, paid.id, now)
        jobs = [
            job_kinds.fulfil_job(order.id),
            job_kinds.event_job(
                "payment_confirmed",
                order.id,
                key=order.id,
                attempt_id=paid.id,
                amount={
                    "amount_minor": paid.confirmed_amount_minor or paid.amount_minor,
                    "currency": paid.confirmed_currency or paid.currency,
                },
            ),
            job_kinds.mail_job("payment_confirmed", order.id, key=f"paid:{order.id}"),
            job_kinds.mail_job("admin_new_order", order.id, key=f"admin:{order.id}", to="admins"),
        ]
    return await transition(
        session,
        ORDER,
        order,
        "payment_status",
        target,
        now=now,
        order_id=order.id,
        actor=actor,
        jobs=jobs,
    )


async def _observe_time_to_paid(session: AsyncSession, attempt_id: str, now: datetime) -> None:
    first = (
        await session.execute(
            sa.select(sa.func.min(Notification.received_at)).where(
                Notification.attempt_id == attempt_id
            )
        )
    ).scalar_one()
    if first is not None:  # paid without a notification (return page, reconciler): no timing
        metrics.TO_PAID.observe(max((now - first).total_seconds(), 0.0))
