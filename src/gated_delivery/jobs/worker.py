"""The embedded worker: runs outbox jobs in the app's process or in ``gated-delivery worker``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa

from gated_delivery import inquiries, reminders, throttle
from gated_delivery.heartbeats import Beater, Kind
from gated_delivery.ids import new_public_id
from gated_delivery.jobs.outbox import claim, execute
from gated_delivery.reconcile import reconcile
from gated_delivery.runtime import Runtime

log = logging.getLogger(__name__)

#: The longest wait between two failed rounds.
MAX_BACKOFF_SECONDS: Final = 60.0
#: How often the worker purges old unpaid uploads and quiet rate counters.
HOUSEKEEPING_EVERY: Final = timedelta(hours=1)


class Worker:
    """Claims due jobs and runs them, and runs the reconciler every few minutes."""

    def __init__(self, rt: Runtime, *, batch: int = 10) -> None:
        self.rt = rt
        self.batch = batch
        self.id = f"{socket.gethostname()}:{os.getpid()}:{new_public_id()[:6]}"
        self.heartbeat = Beater(rt, Kind.WORKER, self.id)
        self._last_reconcile: datetime | None = None
        self._last_housekeeping: datetime | None = None

    async def run_once(self) -> int:
        """Run every job due now (including those that become due meanwhile); return how many."""
        done = 0
        while True:
            # one write a minute at most, however many jobs; between batches, so a worker
            # working through a long backlog is still seen by `gated-delivery check`
            await self.heartbeat.beat()
            jobs = await claim(self.rt, self.id, limit=self.batch)
            if not jobs:
                return done
            for job in jobs:
                await execute(self.rt, job)
                done += 1

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; wake early when the app says jobs were committed.

        While rounds fail (the database is down, say) the worker waits twice as long after
        each, up to ``MAX_BACKOFF_SECONDS``, and logs one line when it starts failing and one
        when it recovers: not a traceback per poll.
        """
        poll = self.rt.settings.worker_poll_seconds
        failures = 0
        while not stop.is_set():
            try:
                await self.run_once()
                await self._maybe_reconcile()
                await self.maybe_housekeep()
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.warning(
                        "worker round failed (%s); retrying with backoff",
                        _describe(exc),
                        exc_info=not _is_outage(exc),  # a bug deserves its traceback, once
                    )
            else:
                if failures:
                    log.warning("worker recovered after %s failed round(s)", failures)
                failures = 0
            self.rt.jobs_ready.clear()
            wait = min(poll * 2 ** min(failures, 16), MAX_BACKOFF_SECONDS) if failures else poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stop, self.rt.jobs_ready), timeout=wait)

    async def _maybe_reconcile(self) -> None:
        every = self.rt.settings.reconcile_every_minutes
        if not every:
            return
        now = self.rt.clock.now()
        if self._last_reconcile and now - self._last_reconcile < timedelta(minutes=every):
            return
        self._last_reconcile = now
        report = await reconcile(
            self.rt, min_age=timedelta(minutes=self.rt.settings.reconcile_min_age_minutes)
        )
        if report.lines:
            log.info("reconciler: %s", report.summary())
        reminded = await reminders.queue_due(self.rt)
        if reminded:
            log.info("payment reminders queued for %d orders", len(reminded))

    async def maybe_housekeep(self) -> None:
        """Once an hour: delete the uploads of orders never paid, and quiet rate counters."""
        now = self.rt.clock.now()
        if self._last_housekeeping and now - self._last_housekeeping < HOUSEKEEPING_EVERY:
            return
        self._last_housekeeping = now
        purged = await inquiries.purge_unpaid_uploads(self.rt)
        if purged.files:
            log.info(
                "purged %s upload(s) of %s unpaid order(s), %s bytes",
                purged.files,
                purged.orders,
                purged.size_bytes,
            )
        async with self.rt.db.transaction() as session:
            await throttle.purge_quiet(session, before=now - timedelta(days=1))


def _is_outage(exc: Exception) -> bool:
    """True for a database or network that cannot be reached (not a bug of ours)."""
    return isinstance(exc, OSError | TimeoutError | sa.exc.OperationalError | sa.exc.InterfaceError)


def _describe(exc: Exception) -> str:
    # the first line only: a driver's message can run over many lines
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
