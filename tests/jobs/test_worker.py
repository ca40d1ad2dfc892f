"""The embedded worker (jobs/worker.py), running inside the app as in production."""

from __future__ import annotations

import asyncio

import httpx

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
