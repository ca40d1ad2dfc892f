"""The relay (jobs/relay.py), claiming one row (outbox.claim_job) and the Celery settings.

The relay publishes to a list here; the real broker is in test_celery_backend.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gated_delivery.cli import main
from gated_delivery.config import load_settings
from gated_delivery.errors import ConfigurationError
from gated_delivery.jobs.outbox import claim_job, execute
from gated_delivery.jobs.relay import Relay
from gated_delivery.models import Job, JobState
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FrozenClock


class Outbox:
    """Where the relay publishes: each call's job ids."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, job_ids: Sequence[int]) -> None:
        self.batches.append(list(job_ids))


#: An event job no installed plugin listens to: it succeeds and does nothing.
EVENT = {"event": "fulfilment_published", "order_id": "o1", "asset_id": "a1"}


async def add_job(rt: Runtime, kind: str = "event", **values: object) -> int:
    async with rt.db.transaction() as session:
        job = Job(
            kind=kind,
            payload=EVENT,
            created_at=rt.clock.now(),
            **({"run_after": rt.clock.now()} | values),
        )
        session.add(job)
        await session.flush()
        return job.id


async def test_the_relay_publishes_due_rows_once_until_the_ack_timeout(
    gd_runtime: Runtime,
) -> None:
    sent = Outbox()
    relay = Relay(gd_runtime, sent, ack_timeout_seconds=3600)
    first = await add_job(gd_runtime)
    await add_job(gd_runtime, run_after=gd_runtime.clock.now() + timedelta(minutes=1))

    assert await relay.run_once() == 1
    assert await relay.run_once() == 0  # published, not yet due again

    assert sent.batches == [[first]]


async def test_a_row_nobody_claimed_in_time_is_published_again(gd_runtime: Runtime) -> None:
    sent = Outbox()
    relay = Relay(gd_runtime, sent, ack_timeout_seconds=0)
    job_id = await add_job(gd_runtime)

    await relay.run_once()
    await relay.run_once()

    assert sent.batches == [[job_id], [job_id]]


async def test_a_claimed_row_is_not_published_until_its_lease_runs_out(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    sent = Outbox()
    relay = Relay(gd_runtime, sent, ack_timeout_seconds=3600)
    job_id = await add_job(gd_runtime)
    await relay.run_once()
    assert await claim_job(gd_runtime, job_id, "w1", lease=timedelta(seconds=30)) is not None

    assert await relay.run_once() == 0
    gd_clock.advance(seconds=31)  # the worker died with the job
    assert await relay.run_once() == 1

    assert sent.batches == [[job_id], [job_id]]


async def test_a_row_is_claimed_once_however_often_it_is_delivered(gd_runtime: Runtime) -> None:
    job_id = await add_job(gd_runtime)

    first = await claim_job(gd_runtime, job_id, "w1")
    second = await claim_job(gd_runtime, job_id, "w2")

    assert first is not None
    assert second is None
    assert await execute(gd_runtime, first) is JobState.DONE
    assert await claim_job(gd_runtime, job_id, "w3") is None


async def test_a_failing_job_goes_back_with_the_embedded_backoff_then_dies(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    job_id = await add_job(gd_runtime, kind="no-such-kind", max_attempts=2)

    job = await claim_job(gd_runtime, job_id, "w1")
    assert job is not None
    assert await execute(gd_runtime, job) is JobState.PENDING
    assert await claim_job(gd_runtime, job_id, "w1") is None  # backing off
    gd_clock.advance(seconds=900)
    job = await claim_job(gd_runtime, job_id, "w2")
    assert job is not None
    assert await execute(gd_runtime, job) is JobState.DEAD

    async with gd_runtime.db.transaction() as session:
        row = (await session.execute(sa.select(Job).where(Job.id == job_id))).scalar_one()
    assert row.last_error.startswith("dead after 2 tries")


def test_the_celery_backend_needs_a_broker_url() -> None:
    with pytest.raises(ConfigurationError, match="GD_CELERY_BROKER_URL"):
        load_settings(sandbox=True, job_backend="celery")


def test_the_job_backend_is_embedded_or_celery() -> None:
    with pytest.raises(ConfigurationError, match="GD_JOB_BACKEND"):
        load_settings(sandbox=True, job_backend="rq")


def test_the_plain_worker_refuses_to_run_jobs_meant_for_celery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GD_SANDBOX", "1")
    monkeypatch.setenv("GD_JOB_BACKEND", "celery")
    monkeypatch.setenv("GD_CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")

    result = CliRunner().invoke(main, ["worker", "--once"])

    assert result.exit_code == 1
    assert "worker --relay" in result.output


def test_the_beat_schedule_runs_the_reconciler(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("celery", reason="needs the celery extra: pip install -e '.[celery]'")
    monkeypatch.setenv("GD_SANDBOX", "1")
    monkeypatch.setenv("GD_RECONCILE_EVERY_MINUTES", "7")

    result = CliRunner().invoke(main, ["celery-beat-schedule"])

    assert result.exit_code == 0, result.output
    assert '"task": "gated_delivery.reconcile"' in result.output
    assert '"schedule": 420.0' in result.output
