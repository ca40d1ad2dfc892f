"""One reminder for an unpaid order (reminders.py), queued by the worker's periodic pass."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from tests.web.test_download import mails

from gated_delivery import delivery, reminders
from gated_delivery.config import CoreSettings
from gated_delivery.jobs.worker import Worker
from gated_delivery.models import AuditEvent, Job, Order, Product
from gated_delivery.plugin_types import ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, FrozenClock, checkout, notify_fake, pay_with_fake

RunJobs = Callable[[], Awaitable[int]]
REMINDER = "Votre commande attend son paiement"


@pytest.fixture
def gd_settings(gd_settings: CoreSettings) -> CoreSettings:
    return gd_settings.model_copy(
        update={"payment_reminder_minutes": 30, "reconcile_every_minutes": 5}
    )


def reminders_sent(rt: Runtime) -> list[str]:
    return [str(m["To"]) for m in mails(rt.settings) if REMINDER in str(m["Subject"])]


async def worker_pass(rt: Runtime) -> None:
    """What the worker does every GD_RECONCILE_EVERY_MINUTES, then the jobs it queued."""
    worker = Worker(rt)
    await worker._maybe_reconcile()
    await worker.run_once()


async def test_an_unpaid_order_gets_one_reminder_after_the_delay(
    gd_runtime: Runtime, gd_order: Order, gd_clock: FrozenClock
) -> None:
    gd_clock.advance(minutes=29)
    await worker_pass(gd_runtime)
    assert reminders_sent(gd_runtime) == []
    gd_clock.advance(minutes=2)
    await worker_pass(gd_runtime)
    assert reminders_sent(gd_runtime) == ["awa@example.org"]
    [message] = [m for m in mails(gd_runtime.settings) if REMINDER in str(m["Subject"])]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"http://testserver/checkout/{gd_order.id}" in text
    assert "Fake provider (sandbox)" in text
    assert "5000 XOF" in text or "5 000 XOF" in text
    for _ in range(2):
        gd_clock.advance(minutes=10)
        await worker_pass(gd_runtime)
    assert reminders_sent(gd_runtime) == ["awa@example.org"]


async def test_a_failed_order_is_reminded_and_a_paid_one_never(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
) -> None:
    from gated_delivery.orders import create_order

    async with gd_runtime.db.transaction() as session:
        paid = await create_order(
            session,
            product_slug="guide",
            tier_id="std",
            buyer_email="paid@example.org",
            now=gd_clock.now(),
        )
    await pay_with_fake(gd_client, gd_fake_provider, paid.id, gd_run_jobs)
    attempt = await checkout(gd_client, gd_order.id)
    await notify_fake(gd_client, gd_fake_provider, attempt, status="failed")
    gd_fake_provider.will_report(attempt, ReportedStatus.FAILED)
    await gd_run_jobs()
    gd_clock.advance(minutes=45)
    await worker_pass(gd_runtime)
    assert reminders_sent(gd_runtime) == ["awa@example.org"]


async def test_reminders_are_off_per_product_or_for_everyone(
    gd_runtime: Runtime, gd_order: Order, gd_clock: FrozenClock
) -> None:
    async with gd_runtime.db.transaction() as session:
        await session.execute(sa.update(Product).values(payment_reminder_minutes=0))
    gd_clock.advance(minutes=60)
    await worker_pass(gd_runtime)
    assert reminders_sent(gd_runtime) == []
    async with gd_runtime.db.transaction() as session:
        await session.execute(sa.update(Product).values(payment_reminder_minutes=50))
    off = gd_runtime.settings.model_copy(update={"payment_reminder_minutes": 0})
    rt = type(gd_runtime)(**{**gd_runtime.__dict__, "settings": off})
    await worker_pass(rt)
    assert reminders_sent(gd_runtime) == []
    await worker_pass(gd_runtime)  # the product's own 50 minutes, with reminders on
    assert reminders_sent(gd_runtime) == ["awa@example.org"]


async def test_an_order_revoked_before_its_reminder_leaves_gets_none(
    gd_runtime: Runtime, gd_order: Order, gd_clock: FrozenClock
) -> None:
    gd_clock.advance(minutes=31)
    assert await reminders.queue_due(gd_runtime) == [gd_order.id]
    await delivery.revoke(gd_runtime, gd_order.id, actor="staff:test", reason="cancelled")
    await Worker(gd_runtime).run_once()
    assert reminders_sent(gd_runtime) == []
    async with gd_runtime.db.transaction() as session:
        skipped = await session.scalar(
            sa.select(AuditEvent.reason).where(AuditEvent.event == "skipped")
        )
    assert skipped is not None
    assert "revoked" in skipped


async def test_old_orders_are_not_reminded_when_reminders_are_turned_on(
    gd_runtime: Runtime, gd_order: Order, gd_clock: FrozenClock
) -> None:
    gd_clock.advance(timedelta(days=3))
    assert await reminders.queue_due(gd_runtime, dry_run=True) == []


async def test_dry_run_queues_nothing(
    gd_runtime: Runtime, gd_order: Order, gd_clock: FrozenClock
) -> None:
    gd_clock.advance(minutes=31)
    assert await reminders.queue_due(gd_runtime, dry_run=True) == [gd_order.id]
    await Worker(gd_runtime).run_once()
    assert reminders_sent(gd_runtime) == []


async def test_two_workers_racing_send_one_reminder(
    gd_backend: str, gd_runtime: Runtime, gd_order: Order, gd_clock: FrozenClock
) -> None:
    if gd_backend != "postgresql":
        pytest.skip("concurrent workers need PostgreSQL's row locks (SQLite serialises them)")
    gd_clock.advance(minutes=31)
    await asyncio.gather(*(worker_pass(gd_runtime) for _ in range(4)))
    assert reminders_sent(gd_runtime) == ["awa@example.org"]


async def test_celery_beats_reconcile_task_queues_reminders_too(
    gd_settings: CoreSettings, gd_runtime: Runtime, gd_product: Product
) -> None:
    pytest.importorskip("celery")
    from datetime import UTC, datetime

    from gated_delivery.jobs.celery_backend import _JobRunner
    from gated_delivery.orders import create_order

    async with gd_runtime.db.transaction() as session:
        order = await create_order(
            session,
            product_slug="guide",
            tier_id="std",
            buyer_email="late@example.org",
            now=datetime.now(UTC) - timedelta(minutes=31),  # the runner keeps real time
        )
    runner = _JobRunner(gd_settings)
    summary = await asyncio.to_thread(runner.reconcile)

    def close() -> None:  # the runner's own loop and connections, as a worker exit does
        assert runner._loop is not None
        assert runner._rt is not None
        runner._loop.run_until_complete(runner._rt.close())
        runner._loop.close()

    await asyncio.to_thread(close)
    assert summary.endswith("; 1 payment reminders queued")
    async with gd_runtime.db.transaction() as session:
        job = await session.scalar(sa.select(Job).where(Job.kind == "payment_reminder"))
    assert job is not None
    assert job.order_id == order.id
