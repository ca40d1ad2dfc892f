"""Reconciliation: settle payments the provider never told us about, and unstick jobs.

Mobile money confirms late, and Orange Money sends nothing at all when a buyer abandons.
``reconcile`` asks the provider about every attempt still open after ``min_age``, expires
those whose payment page has timed out, and puts back jobs whose worker died.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from gated_delivery.errors import (
    ActionRefused,
    GatedDeliveryError,
    ProviderError,
    RetryLater,
)
from gated_delivery.models import Job, JobState, PaymentAttempt
from gated_delivery.payments import settle, verify_attempt, view
from gated_delivery.plugin_types import AttemptView, ProviderStatus, ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.states import ATTEMPT, OPEN_ATTEMPTS, AttemptState
from gated_delivery.transitions import audit

ACTOR = "reconciler"


@dataclass
class Report:
    """What a reconciliation run did (or, dry, would do): one line per payment or job."""

    dry_run: bool
    lines: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str, line: str) -> None:
        """Record one line under an outcome such as ``succeeded`` or ``still pending``."""
        self.lines.append(line)
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def summary(self) -> str:
        """One line: how many of each outcome."""
        verb = "would settle" if self.dry_run else "settled"
        parts = [f"{n} {outcome}" for outcome, n in sorted(self.counts.items())]
        return f"{verb}: " + (", ".join(parts) if parts else "nothing to do")


async def reconcile(rt: Runtime, *, min_age: timedelta, dry_run: bool = False) -> Report:
    """Check open attempts older than ``min_age`` with their provider; requeue stuck jobs."""
    report = Report(dry_run=dry_run)
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        attempts = list(
            (
                await session.execute(
                    sa.select(PaymentAttempt)
                    .where(
                        PaymentAttempt.state.in_(list(OPEN_ATTEMPTS)),
                        PaymentAttempt.created_at <= now - min_age,
                    )
                    .order_by(PaymentAttempt.created_at)
                )
            ).scalars()
        )
    for attempt in attempts:
        await _reconcile_attempt(rt, view(attempt), report, dry_run)
    await _requeue_stuck_jobs(rt, report, dry_run)
    return report


async def _reconcile_attempt(
    rt: Runtime, attempt: AttemptView, report: Report, dry_run: bool
) -> None:
    label = f"attempt {attempt.attempt_id} (order {attempt.order_id}, {attempt.provider})"
    provider = rt.providers.get(attempt.provider)
    if provider is None:
        report.add("skipped", f"{label}: provider {attempt.provider!r} is not installed; skipped")
        return
    try:
        status = await provider.check_status(attempt)
    except GatedDeliveryError as exc:
        report.add("unreachable", f"{label}: provider check failed ({exc}); left as is")
        return
    age = rt.clock.now() - attempt.created_at
    if status.status is ReportedStatus.PENDING and age > provider.session_lifetime:
        status = ProviderStatus(
            ReportedStatus.EXPIRED,
            reason=(
                f"still pending {int(age.total_seconds() // 60)} min after start; the payment "
                f"page expires after {int(provider.session_lifetime.total_seconds() // 60)} min"
            ),
        )
    outcome = status.status.value
    if status.status is ReportedStatus.PENDING:
        report.add("still pending", f"{label}: provider reports pending; left as is")
        return
    if dry_run:
        report.add(outcome, f"{label}: {attempt.state.value} -> would apply {outcome}")
        return
    new_state: AttemptState = await settle(rt, attempt.attempt_id, status, actor=ACTOR)
    report.add(new_state.value, f"{label}: {attempt.state.value} -> {new_state.value}")


async def _requeue_stuck_jobs(rt: Runtime, report: Report, dry_run: bool) -> None:
    now = rt.clock.now()
    stuck = sa.and_(Job.state == JobState.RUNNING, Job.locked_until < now)
    async with rt.db.transaction() as session:
        jobs = list((await session.execute(sa.select(Job.id, Job.kind).where(stuck))).all())
        if not dry_run and jobs:
            await session.execute(
                sa.update(Job)
                .where(stuck)
                .values(state=JobState.PENDING, locked_until=None, locked_by=None, run_after=now)
            )
    verb = "would requeue" if dry_run else "requeued"
    for job_id, kind in jobs:
        report.add("jobs requeued", f"job {job_id} ({kind}): worker lease expired; {verb}")


async def recheck_order(rt: Runtime, order_id: str, *, actor: str) -> int:
    """Ask the provider now about every open attempt of one order; how many were asked.

    Refused (``ActionRefused``) when the order has no open attempt, or when the provider
    cannot answer; an attempt it still reports pending is left as it is.
    """
    async with rt.db.transaction() as session:
        open_ids = list(
            (
                await session.execute(
                    sa.select(PaymentAttempt.id).where(
                        PaymentAttempt.order_id == order_id,
                        PaymentAttempt.state.in_(list(OPEN_ATTEMPTS)),
                    )
                )
            ).scalars()
        )
        if not open_ids:
            raise ActionRefused(f"order {order_id} has no open payment attempt to check")
        # the staff request is itself in the trail, whatever the provider then says
        audit(
            session,
            now=rt.clock.now(),
            order_id=order_id,
            machine=ATTEMPT.name,
            subject_id=order_id,
            event="staff_recheck",
            actor=actor,
            data={"open_attempts": len(open_ids)},
        )
    for attempt_id in open_ids:
        try:
            await verify_attempt(rt, attempt_id, actor=actor)
        except RetryLater:
            continue  # still pending at the provider: nothing to change
        except ProviderError as exc:
            raise ActionRefused(f"the provider could not answer: {exc}") from None
    return len(open_ids)
