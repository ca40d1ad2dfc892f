"""The embedded worker (jobs/worker.py), running inside the app as in production."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from gated_delivery.models import Order
from gated_delivery.runtime import Runtime
from gated_delivery.states import PaymentStatus
from gated_delivery.testing import FakeProvider
from gated_delivery.web.app import create_app


async def payment_status(rt: Runtime, order_id: str) -> PaymentStatus:
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        return order.payment_status


async def test_the_app_runs_its_worker_and_a_webhook_gets_an_order_paid(
    gd_runtime: Runtime, gd_order: Order, gd_fake_provider: FakeProvider
) -> None:
    app = create_app(runtime=gd_runtime, run_worker=True)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        response = await client.post(f"/checkout/{gd_order.id}/fake")
        attempt_id = response.headers["location"].rsplit("/", 1)[1]
        gd_fake_provider.will_report(attempt_id)
        body, headers = gd_fake_provider.notification(attempt_id)
        assert (
            await client.post("/payments/fake/notify", content=body, headers=headers)
        ).is_success
        # the notification wakes the worker; nothing else runs the job here
        for _ in range(200):
            if await payment_status(gd_runtime, gd_order.id) is PaymentStatus.PAID:
                break
            await asyncio.sleep(0.05)
    assert await payment_status(gd_runtime, gd_order.id) is PaymentStatus.PAID


async def test_an_unreachable_database_gives_one_line_not_a_traceback_per_poll(
    gd_settings: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from gated_delivery.jobs.worker import Worker
    from gated_delivery.runtime import build_runtime

    missing = f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/db.sqlite3"
    settings = gd_settings.model_copy(update={"database_url": missing, "worker_poll_seconds": 0.01})
    rt = build_runtime(settings, load_entry_points=False)
    worker = Worker(rt)
    rounds = 0
    real_run_once = worker.run_once

    async def counted() -> int:
        nonlocal rounds
        rounds += 1
        return await real_run_once()

    worker.run_once = counted  # type: ignore[method-assign]
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="gated_delivery"):
        task = asyncio.create_task(worker.run_forever(stop))
        while rounds < 4:  # noqa: ASYNC110 - the worker sets no event per round
            await asyncio.sleep(0.01)
        stop.set()
        await task
    await rt.close()
    lines = [r for r in caplog.records if r.name == "gated_delivery.jobs.worker"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "retrying with backoff" in lines[0].getMessage()
    assert not lines[0].exc_info
