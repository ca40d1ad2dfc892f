"""The relay: publishes committed, due outbox rows to the Celery broker.

A job row commits with the change that asked for it, so the relay only reads committed rows
and nothing is lost between commit and publish. A message can still be lost after publishing
(a broker restarted without persistence, a worker killed before acknowledging), so a row
still due ``ack_timeout`` after it was published is published again. Publishing twice is
harmless: the task claims the row before running it, and only one claim succeeds.

Several relays may run side by side (one per app process, say); they only publish more
duplicates, which the claim absorbs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from gated_delivery.heartbeats import Beater, Kind
from gated_delivery.jobs.worker import Worker, _first
from gated_delivery.models import Job, JobState
from gated_delivery.runtime import Runtime

log = logging.getLogger(__name__)

#: Publishes job ids to the broker; blocking (Celery's client is), so it runs in a thread.
Publish = Callable[[Sequence[int]], None]


class Relay:
    """Publishes due outbox rows, and re-publishes those nobody claimed in time."""

    def __init__(
        self,
        rt: Runtime,
        publish: Publish,
        *,
        ack_timeout_seconds: float = 60.0,
        batch: int = 1000,
    ) -> None:
        self.rt = rt
        self.publish = publish
        self.ack_timeout_seconds = ack_timeout_seconds
        self.batch = batch
        # (job id, attempts) -> when it was published; attempts is in the key so that a job
        # back from a failed try (or a crashed worker) is a new message, published at once
        self._sent: dict[tuple[int, int], float] = {}
        self.heartbeat = Beater(rt, Kind.RELAY)

    @classmethod
    def for_celery(cls, rt: Runtime, **options: Any) -> Relay:
        """A relay publishing to the Celery broker named by ``GD_CELERY_BROKER_URL``."""
        from gated_delivery.jobs.celery_backend import make_celery

        return cls(rt, celery_publisher(make_celery(rt.settings)), **options)

    async def run_once(self) -> int:
        """Publish every due row not published (or not claimed) lately; return how many."""
        await self.heartbeat.beat()  # at most one write a minute, for `gated-delivery check`
        now = self.rt.clock.now()
        due = sa.or_(
            sa.and_(Job.state == JobState.PENDING, Job.run_after <= now),
            sa.and_(Job.state == JobState.RUNNING, Job.locked_until < now),
        )
        query = sa.select(Job.id, Job.attempts).where(due).order_by(Job.run_after).limit(self.batch)
        async with self.rt.db.transaction() as session:
            rows = [(row.id, row.attempts) for row in await session.execute(query)]
        clock = time.monotonic()
        # rows no longer due were claimed (or finished): forget them
        self._sent = {key: at for key, at in self._sent.items() if key in set(rows)}
        fresh = [
            key
            for key in rows
            if key not in self._sent or clock - self._sent[key] >= self.ack_timeout_seconds
        ]
        if not fresh:
            return 0
        await asyncio.to_thread(self.publish, [job_id for job_id, _ in fresh])
        for key in fresh:
            self._sent[key] = clock
        return len(fresh)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set; wake early when the app says jobs were committed."""
        poll = self.rt.settings.worker_poll_seconds
        while not stop.is_set():
            self.rt.jobs_ready.clear()
            try:
                await self.run_once()
            except Exception:
                # the broker or the database may be down for a while: keep relaying
                log.exception("relay failed; retrying in %s s", poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stop, self.rt.jobs_ready), timeout=poll)


def celery_publisher(app: Any) -> Publish:
    """Publish job ids as ``gated_delivery.run_job`` tasks on ``app``'s broker."""
    from gated_delivery.jobs.celery_backend import RUN_JOB

    def publish(job_ids: Sequence[int]) -> None:
        with app.producer_or_acquire() as producer:
            for job_id in job_ids:
                # no client-side retry: the relay itself tries again on its next round
                app.send_task(RUN_JOB, args=(job_id,), producer=producer, retry=False)

    return publish


async def run_jobs(rt: Runtime, stop: asyncio.Event) -> None:
    """What runs beside the app: the embedded worker, or with Celery only the relay."""
    if rt.settings.job_backend == "celery":
        await Relay.for_celery(rt).run_forever(stop)
    else:
        await Worker(rt).run_forever(stop)
