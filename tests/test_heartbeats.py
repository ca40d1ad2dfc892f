"""Heartbeats (heartbeats.py): one row per process, written at most once a minute."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from gated_delivery.config import CoreSettings
from gated_delivery.heartbeats import (
    BEAT_EVERY,
    FORGET_AFTER,
    Beater,
    Kind,
    last_seen_by_kind,
    process_name,
    record,
)
from gated_delivery.jobs.celery_backend import HEARTBEAT, beat_schedule
from gated_delivery.jobs.relay import Relay
from gated_delivery.jobs.worker import Worker
from gated_delivery.models import Heartbeat
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FrozenClock


async def rows(rt: Runtime) -> list[tuple[str, str, datetime, datetime]]:
    async with rt.db.transaction() as session:
        found = await session.execute(sa.select(Heartbeat).order_by(Heartbeat.kind, Heartbeat.name))
        return [(r.kind, r.name, r.started_at, r.last_seen) for r in found.scalars()]


async def test_record_inserts_then_updates_one_row(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    started = gd_clock.now()
    async with gd_runtime.db.transaction() as session:
        await record(session, Kind.WORKER, "host:1", now=started, started_at=started)
    later = gd_clock.advance(minutes=3)
    async with gd_runtime.db.transaction() as session:
        await record(session, Kind.WORKER, "host:1", now=later, started_at=later)
        await record(session, Kind.RELAY, "host:1", now=later, started_at=later)
    assert await rows(gd_runtime) == [
        ("relay", "host:1", later, later),
        ("worker", "host:1", started, later),  # started_at is the first beat's
    ]


async def test_beats_from_many_processes_at_once_all_land(gd_runtime: Runtime) -> None:
    beaters = [Beater(gd_runtime, Kind.CELERY, f"host:{n}") for n in range(8)]
    beaters += [Beater(gd_runtime, Kind.CELERY, "host:0") for _ in range(4)]  # one name twice
    assert all(await asyncio.gather(*(b.beat() for b in beaters)))
    assert [name for _, name, _, _ in await rows(gd_runtime)] == [f"host:{n}" for n in range(8)]


async def test_a_beater_writes_at_most_once_per_interval(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    beater = Beater(gd_runtime, Kind.WORKER, "host:7")
    first = gd_clock.now()
    assert await beater.beat()
    gd_clock.advance(BEAT_EVERY - timedelta(seconds=1))
    assert not await beater.beat()
    assert [seen for *_, seen in await rows(gd_runtime)] == [first]
    gd_clock.advance(seconds=1)
    assert await beater.beat()
    assert [seen for *_, seen in await rows(gd_runtime)] == [first + BEAT_EVERY]


async def test_rows_of_processes_long_gone_are_forgotten(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    await Beater(gd_runtime, Kind.WORKER, "old:1").beat()
    gd_clock.advance(FORGET_AFTER + timedelta(seconds=1))
    await Beater(gd_runtime, Kind.WORKER, "new:2").beat()
    assert [name for _, name, _, _ in await rows(gd_runtime)] == ["new:2"]


async def test_last_seen_is_the_newest_row_of_each_kind(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    assert await last_seen_by_kind(gd_runtime) == {}
    await Beater(gd_runtime, Kind.CELERY, "a:1").beat()
    newest = gd_clock.advance(minutes=2)
    await Beater(gd_runtime, Kind.CELERY, "b:2").beat()
    assert await last_seen_by_kind(gd_runtime) == {Kind.CELERY: newest}


async def test_the_worker_beats_at_most_once_a_minute(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    worker = Worker(gd_runtime)
    first = gd_clock.now()
    await worker.run_once()
    gd_clock.advance(BEAT_EVERY / 2)
    await worker.run_once()
    ((kind, name, started, seen),) = await rows(gd_runtime)
    assert (kind, name, started, seen) == ("worker", worker.id, first, first)
    assert name.startswith(process_name())


async def test_the_worker_loop_beats(gd_runtime: Runtime) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(gd_runtime).run_forever(stop))
    try:
        for _ in range(200):  # the first round beats; wait for it, not for a fixed time
            if await rows(gd_runtime):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    assert [kind for kind, *_ in await rows(gd_runtime)] == ["worker"]


async def test_the_relay_beats_as_a_relay(gd_runtime: Runtime) -> None:
    published: list[Sequence[int]] = []
    await Relay(gd_runtime, published.append).run_once()
    assert [(kind, name) for kind, name, *_ in await rows(gd_runtime)] == [
        ("relay", process_name())
    ]


def test_celery_beat_sends_a_heartbeat_even_without_the_reconciler(
    gd_settings: CoreSettings,
) -> None:
    schedule = beat_schedule(gd_settings.model_copy(update={"reconcile_every_minutes": 0}))
    assert [entry["task"] for entry in schedule.values()] == [HEARTBEAT]
    (entry,) = schedule.values()
    assert entry["schedule"] == BEAT_EVERY.total_seconds()
