"""Which changes send which events (webhooks/emit.py), verified by an independent receiver.

The receiver checks every request with the ``standardwebhooks`` library from PyPI, not with
our code, across a secret rotation.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Awaitable, Callable, Iterable

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gated_delivery import delivery, review
from gated_delivery.catalogue import upsert_product
from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import hookimpl
from gated_delivery.models import Job, Order, WebhookEvent
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.plugin_types import GeneratedDocument, GenerationRequest, ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, FrozenClock, ProviderPlugin, checkout, notify_fake
from gated_delivery.testing.webhook_receiver import Receiver
from gated_delivery.webhooks import endpoints
from gated_delivery.webhooks.events import BY_NAME, EVENTS

RunJobs = Callable[[], Awaitable[int]]


class DraftWriter:
    """A generator that writes a one-line draft."""

    name = "draft-writer"

    async def generate(self, request: GenerationRequest) -> GeneratedDocument:
        return GeneratedDocument(b"draft", "draft.txt", "text/plain", {})


class GeneratorPlugin:
    __name__ = "draft-writer-plugin"

    @hookimpl
    def generators(self, settings: CoreSettings) -> Iterable[DraftWriter]:
        return [DraftWriter()]


@pytest.fixture
def gd_plugins(gd_fake_provider: FakeProvider) -> list[object]:
    return [ProviderPlugin(gd_fake_provider), GeneratorPlugin()]


async def generated_order(rt: Runtime) -> Order:
    async with rt.db.transaction() as session:
        return await place_order(session, rt)


async def place_order(session: AsyncSession, rt: Runtime) -> Order:
    """An order for a product whose draft is generated, placed in ``session``."""
    await upsert_product(
        session,
        slug="kit",
        title="Kit",
        tier_id="std",
        tier_label="Standard",
        price=Money(10000, "XOF"),
        generator="draft-writer",
    )
    return await create_order(
        session,
        product_slug="kit",
        tier_id="std",
        buyer_email="awa@example.org",
        now=rt.clock.now(),
    )


def download_link(settings: CoreSettings) -> str:
    for path in sorted(settings.mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        found = re.search(r"http://testserver(/download/\S+)", body.get_content())
        if found:
            return found.group(1)
    raise AssertionError("no link mail")


async def live_order(
    client: httpx.AsyncClient, rt: Runtime, fake: FakeProvider, run_jobs: RunJobs
) -> Order:
    """An order taken through every event: failed, reviewed, paid, drafted, published,
    downloaded, refunded."""
    order = await generated_order(rt)
    failed = await checkout(client, order.id)
    fake.will_report(failed, status=ReportedStatus.FAILED)
    await notify_fake(client, fake, failed)
    await run_jobs()
    reviewed = await checkout(client, order.id)
    fake.will_report(reviewed, amount=Money(9000, "XOF"))
    await notify_fake(client, fake, reviewed)
    await run_jobs()
    await review.accept_as_paid(rt, order.id, reviewed, actor="staff:test", reason="agreed")
    await run_jobs()
    downloaded = await client.post(download_link(rt.settings))  # the landing page's form
    assert downloaded.content == b"draft"
    await delivery.refund(rt, order.id, actor="staff:test", reason="asked")
    await run_jobs()
    return order


async def test_every_event_type_is_sent_and_verifies(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
) -> None:
    _endpoint, secret = await endpoints.add(gd_runtime, receiver.url, ["all"], actor="test")
    order = await live_order(gd_client, gd_runtime, gd_fake_provider, gd_run_jobs)
    verifier = Webhook(secret)
    payloads = [verifier.verify(r.body, r.headers) for r in receiver.received]
    types = [p["type"] for p in payloads]
    assert set(types) == {e.name for e in EVENTS}
    assert types[0] == "order.created"
    assert types.count("order.paid") == 1
    assert len({r.headers["webhook-id"] for r in receiver.received}) == len(types)
    for payload in payloads:
        assert payload["data"]["order_id"] == order.id
        assert set(payload["data"]) == set(BY_NAME[payload["type"]].fields), payload
    by_type = {p["type"]: p["data"] for p in payloads}
    assert by_type["order.paid"]["payment_status"] == "paid"
    assert by_type["order.paid"]["provider"] == "fake"
    assert by_type["payment.failed"]["attempt_state"] == "failed"
    assert by_type["payment.review"]["amount_minor"] == 10000
    assert by_type["fulfilment.delivered"]["fulfilment_status"] == "delivered"
    assert by_type["order.refunded"]["payment_status"] == "refunded"
    assert all(b"awa@example.org" not in r.body for r in receiver.received)


async def test_only_the_subscribed_types_are_sent(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
) -> None:
    await endpoints.add(gd_runtime, receiver.url, ["order.paid", "order.refunded"], actor="t")
    await live_order(gd_client, gd_runtime, gd_fake_provider, gd_run_jobs)
    assert [json.loads(r.body)["type"] for r in receiver.received] == [
        "order.paid",
        "order.refunded",
    ]
    async with gd_runtime.db.transaction() as session:
        stored = await session.execute(sa.select(WebhookEvent.type).order_by(WebhookEvent.id))
        # events nobody subscribed to are not even stored
        assert set(stored.scalars()) == {"order.paid", "order.refunded"}


async def test_no_endpoint_no_event_and_no_job(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    await live_order(gd_client, gd_runtime, gd_fake_provider, gd_run_jobs)
    async with gd_runtime.db.transaction() as session:
        assert (await session.execute(sa.select(WebhookEvent))).first() is None
        assert (await session.execute(sa.select(Job).where(Job.kind == "webhook"))).first() is None


async def test_events_verify_with_both_secrets_during_a_rotation_then_the_new_one_only(
    gd_runtime: Runtime,
    gd_clock: FrozenClock,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
) -> None:
    # the verifier checks timestamps against the real time, so the rotations happen in the
    # past: one 25 hours ago (its grace period is over), one 23 hours ago (still running)
    rt = gd_runtime
    gd_clock.advance(hours=-25)
    over, over_old = await endpoints.add(rt, receiver.url + "?ep=over", ["all"], actor="t")
    over_new = await endpoints.rotate_secret(rt, over.id, actor="t")
    gd_clock.advance(hours=2)
    running, running_old = await endpoints.add(rt, receiver.url + "?ep=run", ["all"], actor="t")
    running_new = await endpoints.rotate_secret(rt, running.id, actor="t")
    gd_clock.advance(hours=23)
    assert over_new != over_old
    await generated_order(rt)
    await gd_run_jobs()
    got = {r.query: r for r in receiver.received}
    during, after = got["ep=run"], got["ep=over"]
    assert Webhook(running_old).verify(during.body, during.headers)["type"] == "order.created"
    assert Webhook(running_new).verify(during.body, during.headers)["type"] == "order.created"
    assert Webhook(over_new).verify(after.body, after.headers)["type"] == "order.created"
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(over_old).verify(after.body, after.headers)


async def test_a_change_rolled_back_leaves_no_event_and_no_job(
    gd_runtime: Runtime, receiver: Receiver
) -> None:
    await endpoints.add(gd_runtime, receiver.url, ["all"], actor="test")

    async def place_then_fail() -> None:
        async with gd_runtime.db.transaction() as session:
            await place_order(session, gd_runtime)
            assert (await session.execute(sa.select(WebhookEvent))).first() is not None
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await place_then_fail()
    async with gd_runtime.db.transaction() as session:
        assert (await session.execute(sa.select(WebhookEvent))).first() is None
        assert (await session.execute(sa.select(Job).where(Job.kind == "webhook"))).first() is None
