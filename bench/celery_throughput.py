"""Jobs per second: the embedded worker vs 1, 2 and 4 Celery worker processes, same run.

Every run executes the same short job (an event no plugin listens to: a claim, a handler
that does nothing, a recorded outcome, all on PostgreSQL) ``--jobs`` times. The embedded
worker runs in this process; each Celery run starts that many ``celery worker --pool solo``
processes on Redis, warms them up, then the relay publishes every row and the clock stops
when the last row is DONE. Needs ``GD_TEST_DATABASE_URL`` (PostgreSQL) and Redis on
127.0.0.1:6379; prints why and exits otherwise::

    python bench/celery_throughput.py [--jobs 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

import sqlalchemy as sa

from gated_delivery.config import CoreSettings
from gated_delivery.jobs.celery_backend import make_celery
from gated_delivery.jobs.relay import Relay, celery_publisher
from gated_delivery.jobs.worker import Worker
from gated_delivery.models import Job, JobState
from gated_delivery.runtime import Runtime, build_runtime
from gated_delivery.testing import databases

BROKER: Final = "redis://127.0.0.1:6379/13"
EVENT: Final = {"event": "fulfilment_published", "order_id": "o1", "asset_id": "a1"}
WORKER_COUNTS: Final = (1, 2, 4)
WAIT_SECONDS: Final = 40.0
QUIET: Final = (
    "--loglevel",
    "WARNING",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
)


def settings_for(url: str, folder: Path) -> CoreSettings:
    return CoreSettings(
        database_url=url,
        secret_key="bench-" + "k" * 40,
        private_media_root=folder / "media",
        mail_dir=folder / "mail",
        job_backend="celery",
        celery_broker_url=BROKER,
        reconcile_every_minutes=0,
    )


async def add_jobs(rt: Runtime, count: int) -> None:
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        await session.execute(
            sa.insert(Job),
            [
                {"kind": "event", "payload": EVENT, "run_after": now, "created_at": now}
                for _ in range(count)
            ],
        )


async def unfinished(rt: Runtime) -> int:
    async with rt.db.transaction() as session:
        query = sa.select(sa.func.count()).select_from(Job).where(Job.state != JobState.DONE)
        return int((await session.execute(query)).scalar_one())


async def until_done(rt: Runtime) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while await unfinished(rt):
        if time.monotonic() > deadline:
            raise SystemExit("gave up: jobs still unfinished after 40 s")
        await asyncio.sleep(0.02)


async def embedded(rt: Runtime, count: int) -> float:
    await add_jobs(rt, count)
    start = time.perf_counter()
    await Worker(rt, batch=50).run_once()
    return count / (time.perf_counter() - start)


def start_workers(
    settings: CoreSettings, first: int, count: int, folder: Path
) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "GD_DATABASE_URL": settings.database_url,
        "GD_SECRET_KEY": settings.secret,
        "GD_JOB_BACKEND": "celery",
        "GD_CELERY_BROKER_URL": BROKER,
        "GD_RECONCILE_EVERY_MINUTES": "0",
        "GD_MAIL_DIR": str(folder / "mail"),
        "PRIVATE_MEDIA_ROOT": str(folder / "media"),
    }
    command = [sys.executable, "-m", "celery", "-A", "gated_delivery.jobs.celery_backend"]
    return [
        subprocess.Popen(
            [*command, "worker", "--pool", "solo", "-n", f"b{i}@%h", *QUIET],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(first, first + count)
    ]


async def until_answering(app: object, workers: int) -> None:
    """Wait until ``workers`` Celery workers answer a ping: started and connected."""
    deadline = time.monotonic() + WAIT_SECONDS
    while len(await asyncio.to_thread(app.control.ping, timeout=0.5)) < workers:  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up: fewer than {workers} Celery workers answer after 40 s")


async def through_celery(rt: Runtime, count: int, folder: Path) -> dict[str, float]:
    """Jobs per second with 1, then 2, then 4 workers (each set adds to the previous one)."""
    app = make_celery(rt.settings)
    relay = Relay(rt, celery_publisher(app), ack_timeout_seconds=3600)
    procs: list[subprocess.Popen[bytes]] = []
    figures = {}
    try:
        for workers in WORKER_COUNTS:
            procs += start_workers(rt.settings, len(procs), workers - len(procs), folder)
            await until_answering(app, workers)
            # warm-up: each worker builds its runtime on its first job
            await add_jobs(rt, workers * 10)
            await relay.run_once()
            await until_done(rt)
            await add_jobs(rt, count)
            start = time.perf_counter()
            await relay.run_once()
            await until_done(rt)
            figures[f"celery, {workers} worker process(es)"] = count / (time.perf_counter() - start)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
    return figures


def redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


async def measure(url: str, count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rt = build_runtime(settings_for(url, folder))
        try:
            figures = {"embedded worker": await embedded(rt, count)}
            figures |= await through_celery(rt, count, folder)
        finally:
            await rt.close()
    return figures


def main(count: int) -> None:
    server = os.environ.get("GD_TEST_DATABASE_URL")
    if not server:
        print("celery_throughput: skipped, GD_TEST_DATABASE_URL (PostgreSQL) is not set")
        return
    if not redis_is_up():
        print("celery_throughput: skipped, no Redis on 127.0.0.1:6379")
        return
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    url = databases.create_postgresql(server)
    try:
        figures = asyncio.run(measure(url, count))
    finally:
        databases.drop_postgresql(server, url)
    base = figures["embedded worker"]
    print(f"celery_throughput: {count} no-op jobs each, PostgreSQL, Redis broker")
    for name, rate in figures.items():
        print(f"  {name:<32} {rate:8.1f} jobs/s  ({rate / base:.2f}x embedded)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    main(parser.parse_args().jobs)
