"""Heartbeats: each process that runs or feeds the jobs says now and then that it is alive.

The embedded worker (in the app or ``gated-delivery worker``), the relay and each Celery
worker keep one row of ``gd_heartbeat`` up to date, at most once per ``BEAT_EVERY`` whatever
the number of jobs they run, so the heartbeat costs no write per job. ``gated-delivery
check`` reads the newest row of each kind (``last_seen_by_kind``).
"""

from __future__ import annotations

import enum
import os
import socket
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery.models import Heartbeat
from gated_delivery.runtime import Runtime

#: The shortest time between two writes of one process's row.
BEAT_EVERY: Final = timedelta(seconds=60)
#: Rows not updated for this long (processes long gone) are deleted by the next beat.
FORGET_AFTER: Final = timedelta(days=7)


class Kind(enum.StrEnum):
    """What a beating process does."""

    WORKER = "worker"  # runs the jobs itself (embedded or ``gated-delivery worker``)
    RELAY = "relay"  # publishes due jobs to Celery
    CELERY = "celery"  # a Celery worker running the published jobs


def process_name() -> str:
    """This process, as a row names it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def record(
    session: AsyncSession, kind: Kind, name: str, *, now: datetime, started_at: datetime
) -> None:
    """Insert or update the row of ``kind``/``name`` to ``last_seen=now``: one statement.

    ``INSERT ... ON CONFLICT DO UPDATE``, which SQLite and PostgreSQL both have, so two
    processes beating at once never fail on the primary key. Rows of processes silent for
    ``FORGET_AFTER`` go in the same transaction: every restart makes a new name.
    """
    values = {"kind": kind.value, "name": name[:200], "started_at": started_at, "last_seen": now}
    insert: Any = (
        postgresql.insert(Heartbeat)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(Heartbeat)
    )
    stmt = insert.values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "name"], set_={"last_seen": stmt.excluded.last_seen}
    )
    await session.execute(stmt)
    await session.execute(sa.delete(Heartbeat).where(Heartbeat.last_seen < now - FORGET_AFTER))


class Beater:
    """One process's heartbeat: ``beat`` writes its row unless it did so lately."""

    def __init__(
        self, rt: Runtime, kind: Kind, name: str | None = None, *, every: timedelta = BEAT_EVERY
    ) -> None:
        self.rt = rt
        self.kind = kind
        self.name = name or process_name()
        self.every = every
        self.started_at = rt.clock.now()
        self._last: datetime | None = None

    async def beat(self) -> bool:
        """Write the row if ``every`` has passed since the last write; whether it wrote."""
        now = self.rt.clock.now()
        if self._last is not None and now - self._last < self.every:
            return False
        async with self.rt.db.transaction() as session:
            await record(session, self.kind, self.name, now=now, started_at=self.started_at)
        self._last = now
        return True


async def last_seen_by_kind(rt: Runtime) -> Mapping[Kind, datetime]:
    """The newest ``last_seen`` of each kind that has a row (kinds never seen are absent)."""
    query = sa.select(Heartbeat.kind, sa.func.max(Heartbeat.last_seen)).group_by(Heartbeat.kind)
    async with rt.db.transaction() as session:
        rows = (await session.execute(query)).all()
    known = {k.value for k in Kind}
    return {Kind(kind): last for kind, last in rows if kind in known and last is not None}
