"""The reconciler (reconcile.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from gated_delivery.errors import ActionRefused
from gated_delivery.models import AuditEvent, Job, JobState, Order, PaymentAttempt
from gated_delivery.plugin_types import ReportedStatus
from gated_delivery.reconcile import recheck_order, reconcile
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus
from gated_delivery.testing import FakeProvider, FrozenClock, checkout

RunJobs = Callable[[], Awaitable[int]]


async def snapshot(rt: Runtime) -> tuple[list[tuple[str, str]], int, list[str]]:
    async with rt.db.transaction() as session:
        attempts = [
            (a, s.value)
            for a, s in (
                await session.execute(
                    sa.select(PaymentAttempt.id, PaymentAttempt.state).order_by(PaymentAttempt.id)
                )
            ).all()
        ]
        events = (
            await session.execute(sa.select(sa.func.count()).select_from(AuditEvent))
        ).scalar_one()
        jobs = [
            s.value
            for s in (await session.execute(sa.select(Job.state).order_by(Job.id))).scalars()
        ]
    return attempts, events, jobs


async def test_only_payments_older_than_min_age_are_checked(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_clock: FrozenClock,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    gd_fake_provider.will_report(attempt_id)
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15))
    assert report.lines == []
    assert report.summary() == "settled: nothing to do"
    gd_clock.advance(minutes=16)
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15))
    assert report.counts == {"succeeded": 1}
    assert f"attempt {attempt_id}" in report.lines[0]
    assert "pending -> succeeded" in report.lines[0]


async def test_an_abandoned_payment_expires_after_the_provider_session(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_clock: FrozenClock,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    gd_clock.advance(minutes=20)
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15))
    assert report.counts == {"still pending": 1}
    gd_clock.advance(gd_fake_provider.session_lifetime)
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15))
    assert report.counts == {"expired": 1}
    async with gd_runtime.db.transaction() as session:
        attempt = await session.get(PaymentAttempt, attempt_id)
        order = await session.get(Order, gd_order.id)
        assert attempt is not None
        assert order is not None
        assert attempt.state is AttemptState.EXPIRED
        assert order.payment_status is PaymentStatus.FAILED


async def test_dry_run_changes_nothing(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_clock: FrozenClock,
    gd_run_jobs: RunJobs,
) -> None:
    paid = await checkout(gd_client, gd_order.id)
    gd_fake_provider.will_report(paid)
    await checkout(gd_client, gd_order.id)  # a second attempt the provider knows nothing about
    gd_clock.advance(hours=2)
    before = await snapshot(gd_runtime)
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15), dry_run=True)
    assert report.counts == {"succeeded": 1, "expired": 1}
    assert report.summary().startswith("would settle:")
    assert await snapshot(gd_runtime) == before
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15))
    assert report.counts == {"succeeded": 1, "expired": 1}
    assert await snapshot(gd_runtime) != before


async def test_provider_down_leaves_payments_as_they_are(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_clock: FrozenClock,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    gd_fake_provider.will_report(attempt_id, ReportedStatus.SUCCEEDED)
    gd_fake_provider.is_down = True
    gd_clock.advance(hours=3)
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15))
    assert report.counts == {"unreachable": 1}
    async with gd_runtime.db.transaction() as session:
        attempt = await session.get(PaymentAttempt, attempt_id)
        assert attempt is not None
        assert attempt.state is AttemptState.PENDING


async def test_stuck_jobs_are_requeued(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_clock: FrozenClock,
) -> None:
    from gated_delivery.jobs.outbox import claim

    attempt_id = await checkout(gd_client, gd_order.id)
    body, headers = gd_fake_provider.notification(attempt_id)
    await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    [job] = await claim(gd_runtime, "a-worker-that-died")
    gd_clock.advance(hours=1)
    report = await reconcile(gd_runtime, min_age=timedelta(hours=2), dry_run=True)
    assert report.counts == {"jobs requeued": 1}
    report = await reconcile(gd_runtime, min_age=timedelta(hours=2))
    assert report.counts == {"jobs requeued": 1}
    async with gd_runtime.db.transaction() as session:
        row = await session.get(Job, job.id)
        assert row is not None
        assert row.state is JobState.PENDING
        assert row.locked_by is None


@pytest.fixture
async def open_attempt(gd_client: httpx.AsyncClient, gd_order: Order) -> str:
    """The id of a payment the buyer started; the provider has not decided yet."""
    return await checkout(gd_client, gd_order.id)


async def test_a_staff_recheck_settles_the_open_attempts_at_once(
    open_attempt: str, gd_runtime: Runtime, gd_order: Order, gd_fake_provider: FakeProvider
) -> None:
    gd_fake_provider.will_report(open_attempt)  # paid, and no notification came
    assert await recheck_order(gd_runtime, gd_order.id, actor="staff:t") == 1
    async with gd_runtime.db.transaction() as session:
        order = await session.get(Order, gd_order.id)
        asked = (
            await session.execute(
                sa.select(AuditEvent.machine, AuditEvent.actor, AuditEvent.data).where(
                    AuditEvent.event == "staff_recheck"
                )
            )
        ).one()
    assert order is not None
    assert order.payment_status is PaymentStatus.PAID
    assert tuple(asked) == ("payment attempt", "staff:t", {"open_attempts": 1})


async def test_a_recheck_without_open_attempt_is_refused_and_changes_nothing(
    gd_runtime: Runtime, gd_order: Order
) -> None:
    before = await snapshot(gd_runtime)
    with pytest.raises(ActionRefused, match="no open payment attempt"):
        await recheck_order(gd_runtime, gd_order.id, actor="staff:t")
    assert await snapshot(gd_runtime) == before


async def test_a_recheck_says_when_the_provider_cannot_answer(
    open_attempt: str, gd_runtime: Runtime, gd_order: Order, gd_fake_provider: FakeProvider
) -> None:
    gd_fake_provider.is_down = True
    with pytest.raises(ActionRefused, match="the provider could not answer"):
        await recheck_order(gd_runtime, gd_order.id, actor="staff:t")
