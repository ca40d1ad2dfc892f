"""On PostgreSQL: 50 copies of Wave's webhook, return-page polls and the reconciler, all at
once on one order, while workers run jobs side by side: one PAID, one delivery.

The app is served by uvicorn on a loopback port in this event loop, so each request has its
own connection and transaction; the provider asks the simulator (another thread) over HTTP.
SQLite serialises every writer, so nothing races there: PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, Final

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
import uvicorn
from gated_delivery_wave import signature
from gated_delivery_wave.testing import WaveControl, wire

from gated_delivery import job_kinds
from gated_delivery.config import CoreSettings
from gated_delivery.db import Database, make_engine
from gated_delivery.jobs.worker import Worker
from gated_delivery.models import AuditEvent, Job, Order
from gated_delivery.reconcile import reconcile
from gated_delivery.runtime import Runtime, build_runtime
from gated_delivery.states import AttemptState, PaymentStatus
from gated_delivery.testing import FrozenClock

from .conftest import WEBHOOK_SECRET
from .helpers import NOTIFY, checkout, count, states

COPIES: Final = 50
POLLS: Final = 20
WORKERS: Final = 4
POOL_SIZE: Final = 30


@pytest.fixture(autouse=True)
def postgresql_only(gd_backend: str) -> None:
    if gd_backend != "postgresql":
        pytest.skip("race tests need PostgreSQL: SQLite serialises every writer")


@pytest_asyncio.fixture
async def gd_runtime(
    gd_settings: CoreSettings, gd_plugins: list[object], gd_clock: FrozenClock
) -> AsyncIterator[Runtime]:
    """The test runtime, with a connection pool sized for the burst."""
    rt = build_runtime(
        gd_settings,
        plugins_extra=gd_plugins,
        clock=gd_clock,
        db=Database(make_engine(gd_settings.database_url, pool_size=POOL_SIZE)),
        load_entry_points=False,
    )
    yield rt
    await rt.close()


@pytest_asyncio.fixture
async def served(gd_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a free loopback port, and a client with room for the whole burst."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(gd_app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            pytest.fail("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    limits = httpx.Limits(max_connections=COPIES + POLLS + 10)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        yield client
    server.should_exit = True
    await task
    sock.close()


async def keep_working(worker: Worker, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if not await worker.run_once():
            await asyncio.sleep(0.002)


async def test_fifty_duplicate_webhooks_polls_and_the_reconciler_pay_once(
    served: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_clock: FrozenClock,
    gd_provider_control: WaveControl,
) -> None:
    attempt = await checkout(served, gd_runtime, gd_order)
    session_id = attempt.provider_data["session_id"]
    gd_provider_control.control(f"/{session_id}", outcome="succeeded", notify="0")
    body, _headers, _ = wire(gd_provider_control.simulator.notice(session_id))
    now = int(gd_clock.now().timestamp())
    # Wave's retries of one event: the same body and id, signed again at each delivery
    copies = [
        {
            "content-type": "application/json",
            "wave-signature": signature.sign(WEBHOOK_SECRET.encode(), now - i, body),
        }
        for i in range(COPIES)
    ]
    stop = asyncio.Event()
    workers = [asyncio.create_task(keep_working(Worker(gd_runtime), stop)) for _ in range(WORKERS)]
    try:
        notified, polled, _report = await asyncio.gather(
            asyncio.gather(*(served.post(NOTIFY, content=body, headers=h) for h in copies)),
            asyncio.gather(
                *(
                    served.get("/payments/wave/return", params={"order": gd_order.id})
                    for _ in range(POLLS)
                )
            ),
            reconcile(gd_runtime, min_age=timedelta(0)),
        )
    finally:
        stop.set()
        await asyncio.gather(*workers)
    await Worker(gd_runtime).run_once()
    assert [r.status_code for r in notified] == [200] * COPIES
    assert sorted(r.text for r in notified).count("ok") == 1
    assert {r.status_code for r in polled} == {200}
    assert await states(gd_runtime, attempt.id) == (AttemptState.SUCCEEDED, PaymentStatus.PAID)
    paid = await count(
        gd_runtime,
        AuditEvent,
        AuditEvent.order_id == gd_order.id,
        AuditEvent.to_state == PaymentStatus.PAID.value,
    )
    assert paid == 1
    assert await count(gd_runtime, Job, Job.kind == job_kinds.FULFIL) == 1
    async with gd_runtime.db.transaction() as session:
        events = list(
            await session.scalars(
                sa.select(Job.payload).where(
                    Job.order_id == gd_order.id, Job.kind == job_kinds.EVENT
                )
            )
        )
    assert [e.get("event") for e in events].count("payment_confirmed") == 1
