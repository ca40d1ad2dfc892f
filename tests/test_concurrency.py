"""Races on PostgreSQL: everything that can confirm a payment, at once, confirms it once.

The app runs in a real uvicorn server on a loopback port, so each request has its own
connection, task and database transaction. While the requests arrive, several workers
claim and run jobs side by side and the reconciler runs too. SQLite serialises every
writer at ``BEGIN IMMEDIATE``, so nothing races there: these tests run on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
import uvicorn
from starlette.applications import Starlette

from gated_delivery import job_kinds
from gated_delivery.config import CoreSettings
from gated_delivery.db import Database, lock, make_engine
from gated_delivery.ids import new_public_id
from gated_delivery.jobs.worker import Worker
from gated_delivery.models import (
    Asset,
    AssetKind,
    AuditEvent,
    Job,
    JobState,
    Notification,
    Order,
    PaymentAttempt,
    Product,
    WebhookEvent,
)
from gated_delivery.plugin_types import ReportedStatus
from gated_delivery.reconcile import Report, reconcile
from gated_delivery.runtime import Runtime, build_runtime
from gated_delivery.states import (
    ATTEMPT,
    FULFILMENT,
    ORDER,
    AttemptState,
    FulfilmentState,
    PaymentStatus,
)
from gated_delivery.testing import FakeProvider, FrozenClock
from gated_delivery.testing.webhook_receiver import serve_receiver
from gated_delivery.webhooks import endpoints

A = AttemptState
P = PaymentStatus
F = FulfilmentState

#: The engine's pool (as many again on overflow): enough for every poll of a burst to hold a
#: connection while the workers and the reconciler hold theirs, and within PostgreSQL's
#: default of 100 connections next to the webhook intake's own small pool.
POOL_SIZE: Final = 30
COPIES: Final = 50
POLLS: Final = 20
WORKERS: Final = 4

Wire = tuple[bytes, dict[str, str]]


@pytest.fixture(autouse=True)
def postgresql_only(gd_backend: str) -> None:
    if gd_backend != "postgresql":
        pytest.skip(
            "race tests need PostgreSQL: SQLite serialises every writer, so nothing races there"
        )


@pytest_asyncio.fixture
async def gd_runtime(
    gd_settings: CoreSettings, gd_plugins: list[object], gd_clock: FrozenClock
) -> AsyncIterator[Runtime]:
    """The test runtime, with a connection pool sized for the bursts below."""
    engine = make_engine(gd_settings.database_url, pool_size=POOL_SIZE)
    rt = build_runtime(
        gd_settings,
        plugins_extra=gd_plugins,
        clock=gd_clock,
        db=Database(engine),
        load_entry_points=False,
    )
    yield rt
    await rt.close()


@pytest_asyncio.fixture
async def server(gd_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The app served by uvicorn on a free loopback port, and a client talking to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(gd_app, lifespan="off", log_level="warning", access_log=False)
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        if task.done():
            await task  # start-up failed: raise its error
            pytest.fail("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    limits = httpx.Limits(max_connections=COPIES * 2 + POLLS)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:
        yield client
    uv.should_exit = True
    await task
    sock.close()


@pytest_asyncio.fixture
async def product_file(gd_runtime: Runtime, gd_product: Product) -> None:
    """The test product's own file, so that a paid order is published at once."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"the guide"

    stored = await gd_runtime.storage.save(new_public_id(), chunks())
    async with gd_runtime.db.transaction() as session:
        asset = Asset(
            product_id=gd_product.id,
            kind=AssetKind.PRODUCT_FILE,
            storage=gd_runtime.storage.name,
            key=stored.key,
            filename="guide.txt",
            media_type="text/plain",
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            created_at=gd_runtime.clock.now(),
        )
        session.add(asset)


# --- helpers ---------------------------------------------------------------------------


async def checkout(client: httpx.AsyncClient, rt: Runtime, order_id: str) -> str:
    """Start an attempt through the app; return its id."""
    before = set(await attempt_ids(rt, order_id))
    response = await client.post(f"/checkout/{order_id}/fake")
    assert response.status_code == 303, response.text
    (new,) = set(await attempt_ids(rt, order_id)) - before
    return new


async def attempt_ids(rt: Runtime, order_id: str) -> list[str]:
    async with rt.db.transaction() as session:
        query = sa.select(PaymentAttempt.id).where(PaymentAttempt.order_id == order_id)
        return list(await session.scalars(query))


async def keep_working(worker: Worker, stop: asyncio.Event) -> None:
    """Run due jobs over and over until ``stop`` is set."""
    while not stop.is_set():
        if not await worker.run_once():
            await asyncio.sleep(0.002)  # nothing due: let the requests commit some


@dataclass
class Burst:
    """What came back from one burst."""

    notified: list[httpx.Response]
    polled: list[httpx.Response]
    report: Report


async def burst(
    client: httpx.AsyncClient, rt: Runtime, order_id: str, notices: Sequence[Wire]
) -> Burst:
    """POST every notice, poll the return page and reconcile, all at once, while
    ``WORKERS`` workers run jobs; then drain what is left with one worker."""
    stop = asyncio.Event()
    workers = [asyncio.create_task(keep_working(Worker(rt), stop)) for _ in range(WORKERS)]
    try:
        posts = [
            client.post(
                "/payments/fake/notify", content=body, headers=headers, params={"order": order_id}
            )
            for body, headers in notices
        ]
        polls = [
            client.get("/payments/fake/return", params={"order": order_id}) for _ in range(POLLS)
        ]
        notified, polled, report = await asyncio.gather(
            asyncio.gather(*posts),
            asyncio.gather(*polls),
            reconcile(rt, min_age=timedelta(0)),
        )
    finally:
        stop.set()
        await asyncio.gather(*workers)
    await Worker(rt).run_once()
    return Burst(notified, polled, report)


@dataclass
class Outcome:
    """The order's rows after a burst."""

    order: Order
    attempts: dict[str, PaymentAttempt]
    events: list[AuditEvent]
    jobs: list[Job]
    notifications: int

    def moves(self, machine: str, subject_id: str) -> list[tuple[str | None, str | None]]:
        return [
            (e.from_state, e.to_state)
            for e in self.events
            if e.machine == machine and e.subject_id == subject_id and e.event == "transition"
        ]

    def jobs_of(self, kind: str, event: str | None = None) -> list[Job]:
        return [
            j
            for j in self.jobs
            if j.kind == kind and (event is None or j.payload.get("event") == event)
        ]


async def outcome(rt: Runtime, order_id: str) -> Outcome:
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        attempts = await session.scalars(
            sa.select(PaymentAttempt).where(PaymentAttempt.order_id == order_id)
        )
        events = await session.scalars(
            sa.select(AuditEvent).where(AuditEvent.order_id == order_id).order_by(AuditEvent.id)
        )
        jobs = await session.scalars(sa.select(Job).where(Job.order_id == order_id))
        notifications = await session.scalar(sa.select(sa.func.count()).select_from(Notification))
        return Outcome(
            order,
            {a.id: a for a in attempts},
            list(events),
            list(jobs),
            int(notifications or 0),
        )


def assert_delivered_once(result: Outcome, paid_attempt: str) -> None:
    """PAID once through ``paid_attempt``, one fulfilment, one publication, no failed job."""
    order = result.order
    assert order.payment_status is P.PAID
    assert result.moves(ORDER.name, order.id) == [("unpaid", "pending"), ("pending", "paid")]
    assert result.moves(ATTEMPT.name, paid_attempt) == [
        ("created", "pending"),
        ("pending", "succeeded"),
    ]
    succeeded = [a.id for a in result.attempts.values() if a.state is A.SUCCEEDED]
    assert succeeded == [paid_attempt]
    assert len(result.jobs_of(job_kinds.FULFIL)) == 1
    assert len(result.jobs_of(job_kinds.EVENT, "payment_confirmed")) == 1
    assert order.fulfilment_status is F.PUBLISHED
    assert result.moves(FULFILMENT.name, order.id) == [("received", "published")]
    assert len(result.jobs_of(job_kinds.EVENT, "fulfilment_published")) == 1
    failed = [(j.kind, j.state.value, j.last_error) for j in result.jobs if j.last_error]
    assert failed == [], "a job failed under the race (deadlock? duplicate key?)"
    assert all(j.state is JobState.DONE for j in result.jobs)


async def lock_waiters(rt: Runtime) -> int:
    """How many sessions of this database are waiting for a lock right now."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with rt.db.engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


def replies(responses: Sequence[httpx.Response]) -> dict[tuple[int, str], int]:
    counts: dict[tuple[int, str], int] = {}
    for response in responses:
        key = (response.status_code, response.text)
        counts[key] = counts.get(key, 0) + 1
    return counts


# --- the races ---------------------------------------------------------------------------


@pytest.mark.usefixtures("product_file")
async def test_one_payment_told_many_times_at_once_is_confirmed_once(
    server: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_order: Order,
) -> None:
    attempt_id = await checkout(server, gd_runtime, gd_order.id)
    gd_fake_provider.will_report(attempt_id, ReportedStatus.SUCCEEDED)
    notice = gd_fake_provider.notification(attempt_id, status="succeeded")

    result = await burst(server, gd_runtime, gd_order.id, [notice] * COPIES)

    assert replies(result.notified) == {(200, "ok"): 1, (200, "ok (duplicate)"): COPIES - 1}
    assert {r.status_code for r in result.polled} == {200}
    # the reconciler settled the attempt itself, or found it settled already
    assert result.report.counts in ({}, {"succeeded": 1})
    after = await outcome(gd_runtime, gd_order.id)
    assert after.notifications == 1
    assert_delivered_once(after, attempt_id)
    status = (await server.get(f"/orders/{gd_order.id}/status")).json()
    assert status["downloadable"] is True


@pytest.mark.usefixtures("product_file")
async def test_one_payment_told_many_times_at_once_sends_one_order_paid_webhook(
    server: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_order: Order,
) -> None:
    rt = gd_runtime
    rt.settings = rt.settings.model_copy(update={"sandbox": True, "webhooks_allow_private": True})
    with serve_receiver() as receiver:
        added, _secret = await endpoints.add(rt, receiver.url, ["order.paid"], actor="test")
        attempt_id = await checkout(server, rt, gd_order.id)
        gd_fake_provider.will_report(attempt_id, ReportedStatus.SUCCEEDED)
        notice = gd_fake_provider.notification(attempt_id, status="succeeded")

        await burst(server, rt, gd_order.id, [notice] * COPIES)

        async with rt.db.transaction() as session:
            events = list(await session.scalars(sa.select(WebhookEvent.type)))
            deliveries = list(await session.scalars(sa.select(Job).where(Job.kind == "webhook")))
        assert events == ["order.paid"]
        assert [(j.state, j.payload["endpoint_id"]) for j in deliveries] == [
            (JobState.DONE, added.id)
        ]
        assert len(receiver.received) == 1


@pytest.mark.usefixtures("product_file")
async def test_two_attempts_paid_at_once_confirm_the_order_once(
    server: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_order: Order,
) -> None:
    first = await checkout(server, gd_runtime, gd_order.id)
    second = await checkout(server, gd_runtime, gd_order.id)
    notices: list[Wire] = []
    for attempt_id in (first, second):
        gd_fake_provider.will_report(attempt_id, ReportedStatus.SUCCEEDED)
        notices.append(gd_fake_provider.notification(attempt_id, status="succeeded"))
    # interleaved, so that both attempts' news arrive together
    wave = [notices[i % 2] for i in range(COPIES)]

    result = await burst(server, gd_runtime, gd_order.id, wave)

    assert replies(result.notified) == {(200, "ok"): 2, (200, "ok (duplicate)"): COPIES - 2}
    assert {r.status_code for r in result.polled} == {200}
    after = await outcome(gd_runtime, gd_order.id)
    assert after.notifications == 2
    states = {attempt_id: after.attempts[attempt_id].state for attempt_id in (first, second)}
    assert sorted(states.values()) == sorted([A.SUCCEEDED, A.REVIEW]), states
    paid = first if states[first] is A.SUCCEEDED else second
    refund = second if paid == first else first
    assert_delivered_once(after, paid)
    # the other one is a double payment, left for staff to refund
    assert after.moves(ATTEMPT.name, refund) == [("created", "pending"), ("pending", "review")]
    review = [e for e in after.events if e.subject_id == refund and e.to_state == "review"]
    assert "already paid" in review[0].reason


async def test_a_notification_arriving_mid_settle_does_not_deadlock(
    server: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_order: Order,
) -> None:
    """``settle`` locks the order, then the attempt; a new notification lands in between.

    Storing the notification checks its foreign keys to the attempt and (through its job)
    to the order. Whatever the intake waits for, it must not wait for a lock while holding
    one the settling transaction needs next.
    """
    attempt_id = await checkout(server, gd_runtime, gd_order.id)
    gd_fake_provider.will_report(attempt_id, ReportedStatus.SUCCEEDED)
    body, headers = gd_fake_provider.notification(attempt_id, status="succeeded")
    post: asyncio.Task[httpx.Response] | None = None
    try:
        async with gd_runtime.db.transaction() as session:
            assert await lock(session, Order, gd_order.id) is not None
            post = asyncio.create_task(
                server.post(
                    "/payments/fake/notify",
                    content=body,
                    headers=headers,
                    params={"order": gd_order.id},
                )
            )
            # let the intake run until it is done or stuck behind our lock
            while not post.done():
                if await lock_waiters(gd_runtime):
                    break
                await asyncio.sleep(0.005)
            assert await lock(session, PaymentAttempt, attempt_id) is not None
    finally:
        # our transaction is over, whichever way it ended: the intake can finish
        answer = await post if post is not None else None
    assert answer is not None
    assert (answer.status_code, answer.text) == (200, "ok")
    assert (await outcome(gd_runtime, gd_order.id)).notifications == 1
