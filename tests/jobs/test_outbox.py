"""The outbox (jobs/outbox.py): claim, backoff, dead jobs, leases."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gated_delivery.jobs import outbox
from gated_delivery.jobs.outbox import BACKOFF_CAP_SECONDS, backoff_seconds, claim, execute
from gated_delivery.models import Job, JobState
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FrozenClock
from gated_delivery.transitions import JobSpec, enqueue

RunJobs = Callable[[], Awaitable[int]]


def test_backoff_grows_is_jittered_and_capped() -> None:
    rng = random.Random(7)
    for attempts in range(1, 40):
        ceiling = min(BACKOFF_CAP_SECONDS, 5 * 2 ** (attempts - 1))
        delays = [backoff_seconds(attempts, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter: jobs failing together come back apart
    assert backoff_seconds(200, rng=rng) <= 900


async def add_job(rt: Runtime, kind: str, *, max_attempts: int = 3, **payload: object) -> int:
    async with rt.db.transaction() as session:
        job_id = await enqueue(
            session, JobSpec(kind, payload, max_attempts=max_attempts), now=rt.clock.now()
        )
    assert job_id is not None
    return job_id


async def get_job(rt: Runtime, job_id: int) -> Job:
    async with rt.db.transaction() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def test_a_failing_job_is_retried_with_backoff_then_dead_with_its_reason(
    gd_runtime: Runtime, gd_clock: FrozenClock, gd_run_jobs: RunJobs
) -> None:
    job_id = await add_job(gd_runtime, "no-such-kind", max_attempts=3)
    assert await gd_run_jobs() == 1
    job = await get_job(gd_runtime, job_id)
    assert job.state is JobState.PENDING
    assert "no handler for job kind 'no-such-kind'" in job.last_error
    assert job.run_after > gd_clock.now()
    assert await gd_run_jobs() == 0  # not due yet
    for _ in range(2):
        gd_clock.advance(seconds=BACKOFF_CAP_SECONDS)
        assert await gd_run_jobs() == 1
    job = await get_job(gd_runtime, job_id)
    assert job.state is JobState.DEAD
    assert job.attempts == 3
    assert job.last_error.startswith("dead after 3 tries: LookupError")


async def test_a_crashed_workers_job_is_claimed_again_after_its_lease(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    job_id = await add_job(
        gd_runtime,
        "event",
        event="payment_confirmed",
        order_id="o",
        attempt_id="a",
        amount={"amount_minor": 1, "currency": "XOF"},
    )
    taken = await claim(gd_runtime, "worker-that-dies")
    assert [j.id for j in taken] == [job_id]
    assert await claim(gd_runtime, "other") == []  # still leased
    gd_clock.advance(outbox.LEASE + timedelta(seconds=1))
    again = await claim(gd_runtime, "other")
    assert [j.id for j in again] == [job_id]
    assert again[0].attempts == 2
    assert await execute(gd_runtime, again[0]) is JobState.DONE


async def test_dedupe_key_makes_a_job_exist_once(gd_runtime: Runtime) -> None:
    async with gd_runtime.db.transaction() as session:
        spec = JobSpec("event", {}, dedupe_key="once")
        first = await enqueue(session, spec, now=gd_runtime.clock.now())
        second = await enqueue(session, spec, now=gd_runtime.clock.now())
    assert first is not None
    assert second is None
    async with gd_runtime.db.transaction() as session:
        assert (
            await session.execute(sa.select(sa.func.count()).select_from(Job))
        ).scalar_one() == 1


@pytest.mark.parametrize("kind", ["verify_payment", "fulfil", "generate", "event"])
def test_every_core_job_kind_has_a_handler(kind: str) -> None:
    from gated_delivery.jobs.handlers import HANDLERS

    assert kind in HANDLERS
