"""Claiming outbox rows, running their handler, and recording what happened."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa

from gated_delivery import error_reports, logcontext, metrics
from gated_delivery.errors import GiveUp, RetryLater
from gated_delivery.jobs.handlers import GIVE_UP, HANDLERS, RETRY_DELAYS
from gated_delivery.models import Job, JobState
from gated_delivery.runtime import Runtime

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS: Final = 5.0
BACKOFF_CAP_SECONDS: Final = 900.0
#: How long a claimed job is ours; after that a crashed worker's job is claimed again.
LEASE: Final = timedelta(minutes=5)


def backoff_seconds(attempts: int, *, rng: random.Random | None = None) -> float:
    """Delay before the next try after ``attempts`` tries: exponential, jittered, capped.

    The delay is drawn between half and all of ``5 s * 2**(attempts-1)``, never above 900 s,
    so that jobs failing together do not come back together.
    """
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


async def claim(rt: Runtime, worker_id: str, *, limit: int = 10) -> list[Job]:
    """Take up to ``limit`` due jobs (and jobs whose worker's lease ran out).

    On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets many workers claim side by side; on
    SQLite the write lock taken at ``BEGIN IMMEDIATE`` serialises claimers.
    """
    now = rt.clock.now()
    due = sa.or_(
        sa.and_(Job.state == JobState.PENDING, Job.run_after <= now),
        sa.and_(Job.state == JobState.RUNNING, Job.locked_until < now),
    )
    query = sa.select(Job).where(due).order_by(Job.run_after, Job.id).limit(limit)
    if rt.db.is_postgresql:
        query = query.with_for_update(skip_locked=True)
    async with rt.db.transaction() as session:
        jobs = list((await session.execute(query)).scalars())
        for job in jobs:
            job.state = JobState.RUNNING
            job.attempts += 1
            job.locked_by = worker_id
            job.locked_until = now + LEASE
    return jobs


async def claim_job(
    rt: Runtime, job_id: int, worker_id: str, *, lease: timedelta = LEASE
) -> Job | None:
    """Take the job ``job_id`` if it is due (or its worker's lease ran out); None otherwise.

    What a runner fed one id at a time (a Celery task) does instead of ``claim``: a message
    delivered twice, or a job already taken, done or not yet due, is claimed by nobody.
    """
    now = rt.clock.now()
    due = sa.or_(
        sa.and_(Job.state == JobState.PENDING, Job.run_after <= now),
        sa.and_(Job.state == JobState.RUNNING, Job.locked_until < now),
    )
    query = sa.select(Job).where(Job.id == job_id, due)
    if rt.db.is_postgresql:
        query = query.with_for_update(skip_locked=True)
    async with rt.db.transaction() as session:
        job = (await session.execute(query)).scalar_one_or_none()
        if job is not None:
            job.state = JobState.RUNNING
            job.attempts += 1
            job.locked_by = worker_id
            job.locked_until = now + lease
    return job


async def execute(rt: Runtime, job: Job) -> JobState:
    """Run a claimed job's handler and record the outcome on its row.

    Success → DONE. ``RetryLater`` → PENDING again after a backoff, or DONE with a note once
    tries run out (the reconciler takes over). ``GiveUp`` → DEAD at once. Any other error →
    PENDING after a backoff, or DEAD with its reason after the last try.
    """
    payload = dict(job.payload)
    with logcontext.bind(
        job_id=job.id,
        job_kind=job.kind,
        order_id=job.order_id or payload.get("order_id"),
        attempt_id=payload.get("attempt_id"),
    ):
        handler = HANDLERS.get(job.kind)
        error = ""
        retry_note = is_final = False
        failure: Exception | None = None
        log.info("job running (try %s of %s)", job.attempts, job.max_attempts)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}; is a plugin missing?")
            with metrics.JOB_SECONDS.labels(job.kind).time():
                await handler(rt, payload)
        except RetryLater as exc:
            error, retry_note = str(exc), True
        except GiveUp as exc:
            log.warning("job failed for good on try %s", job.attempts)
            error, is_final, failure = f"{type(exc).__name__}: {exc}"[:2000], True, exc
        except Exception as exc:
            # the type only: an error's text may quote what the job handled (an address)
            log.warning("job failed on try %s: %s", job.attempts, type(exc).__name__)
            error = f"{type(exc).__name__}: {exc}"[:2000]
            failure = exc
        return await _record(rt, job, error, retry_note, failure, is_final=is_final)


async def _record(
    rt: Runtime,
    job: Job,
    error: str,
    retry_note: bool,
    failure: Exception | None = None,
    *,
    is_final: bool = False,
) -> JobState:
    now = rt.clock.now()
    values: dict[str, object] = {"locked_until": None, "locked_by": None, "last_error": error}
    if not error:
        values |= {"state": JobState.DONE, "finished_at": now}
    elif job.attempts < job.max_attempts and not is_final:
        values |= {"state": JobState.PENDING, "run_after": _later(now, job)}
    elif retry_note:
        values |= {
            "state": JobState.DONE,
            "finished_at": now,
            "last_error": f"gave up after {job.attempts} tries: {error}",
        }
    else:
        values |= {
            "state": JobState.DEAD,
            "finished_at": now,
            "last_error": f"dead after {job.attempts} tries: {error}"[:2000],
        }
    async with rt.db.transaction() as session:
        await session.execute(
            sa.update(Job).where(Job.id == job.id, Job.locked_by == job.locked_by).values(**values)
        )
    state = values["state"]
    assert isinstance(state, JobState)
    _log_outcome(job, state, values)
    if state is JobState.DEAD:
        error_reports.report(failure or f"job {job.kind} dead after {job.attempts} tries")
    if error and state is not JobState.PENDING and job.kind in GIVE_UP:
        try:
            await GIVE_UP[job.kind](rt, dict(job.payload), error)
        except Exception:
            log.exception("giving up job %s (%s) failed", job.id, job.kind)
    return state


def _log_outcome(job: Job, state: JobState, values: dict[str, object]) -> None:
    if state is JobState.DEAD:
        outcome = "dead"
        log.error("job dead after %s tries", job.attempts)
    elif state is JobState.PENDING:
        outcome = "retry"
        log.info("job retries after %s", values["run_after"])
    elif values["last_error"]:
        outcome = "gave_up"
        log.warning("job gave up after %s tries; the reconciler takes over", job.attempts)
    else:
        outcome = "done"
        log.info("job done")
    metrics.JOB_RUNS.labels(job.kind, outcome).inc()


def _later(now: datetime, job: Job) -> datetime:
    schedule = RETRY_DELAYS.get(job.kind)
    delay = schedule(job.attempts) if schedule else backoff_seconds(job.attempts)
    return now + timedelta(seconds=delay)
