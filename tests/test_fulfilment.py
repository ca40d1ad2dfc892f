"""Fulfilment (fulfilment.py): generation, review, instant delivery, guards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gated_delivery import fulfilment
from gated_delivery.config import CoreSettings
from gated_delivery.db import lock
from gated_delivery.errors import IllegalTransition, RetryLater
from gated_delivery.history import describe_order
from gated_delivery.hookspecs import hookimpl
from gated_delivery.models import Asset, AssetKind, AuditEvent, Job, JobState, Order
from gated_delivery.money import Money
from gated_delivery.plugin_types import GeneratedDocument, GenerationRequest
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState
from gated_delivery.testing import FakeProvider, FrozenClock, ProviderPlugin, pay_with_fake
from gated_delivery.testing.orders import make_order

RunJobs = Callable[[], Awaitable[int]]
F = FulfilmentState


USAGE = {"model": "test", "prompt_tokens": 120, "completion_tokens": 340, "duration_ms": 56}


class ScriptedGenerator:
    """A generator whose next outcomes a test sets: a document, or an exception."""

    name = "scripted"

    def __init__(self) -> None:
        self.script: list[Exception | None] = []
        self.requests: list[GenerationRequest] = []

    async def generate(self, request: GenerationRequest) -> GeneratedDocument:
        self.requests.append(request)
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        text = f"Kit pour {request.answers.get('organization_name', '?')}"
        return GeneratedDocument(text.encode(), "kit.txt", "text/plain", dict(USAGE))


class GeneratorPlugin:
    __name__ = "scripted-generator"

    def __init__(self, generator: ScriptedGenerator) -> None:
        self.generator = generator

    @hookimpl
    def generators(self, settings: CoreSettings) -> Iterable[ScriptedGenerator]:
        return [self.generator]


@pytest.fixture
def generator() -> ScriptedGenerator:
    return ScriptedGenerator()


@pytest.fixture
def gd_plugins(gd_fake_provider: FakeProvider, generator: ScriptedGenerator) -> list[object]:
    return [ProviderPlugin(gd_fake_provider), GeneratorPlugin(generator)]


async def new_order(rt: Runtime, slug: str, **product: Any) -> Order:
    answers = {"organization_name": "ONG Baobab"}
    return await make_order(rt, slug, price=Money(10000, "XOF"), answers=answers, **product)


async def pay(
    client: httpx.AsyncClient, fake: FakeProvider, order: Order, run_jobs: RunJobs
) -> None:
    await pay_with_fake(client, fake, order.id, run_jobs)


async def state(rt: Runtime, order: Order) -> tuple[F, list[AssetKind]]:
    async with rt.db.transaction() as session:
        row = await session.get(Order, order.id)
        assert row is not None
        kinds = list(
            (
                await session.execute(sa.select(Asset.kind).where(Asset.order_id == order.id))
            ).scalars()
        )
        return row.fulfilment_status, kinds


async def test_generated_product_with_review_stops_at_draft_ready(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    generator: ScriptedGenerator,
) -> None:
    order = await new_order(gd_runtime, "kit", generator="scripted", requires_review=True)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    assert await state(gd_runtime, order) == (F.DRAFT_READY, [AssetKind.DRAFT])
    assert generator.requests[0].answers == {"organization_name": "ONG Baobab"}
    async with gd_runtime.db.transaction() as session:
        draft = (await session.execute(sa.select(Asset))).scalar_one()
    chunks = [c async for c in gd_runtime.storage.open(draft.key)]
    assert b"".join(chunks) == b"Kit pour ONG Baobab"
    assert draft.size_bytes == len(b"Kit pour ONG Baobab")
    async with gd_runtime.db.transaction() as session:
        shown = await describe_order(session, order.id)  # what `orders show --json` prints
    assert shown["draft"] == {"asset_id": draft.id, **USAGE}


async def test_generated_product_without_review_is_published(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await new_order(gd_runtime, "kit", generator="scripted")
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    assert await state(gd_runtime, order) == (F.PUBLISHED, [AssetKind.DRAFT])
    status = (await gd_client.get(f"/orders/{order.id}/status")).json()
    assert status["downloadable"] is True


async def test_transient_trouble_is_retried_and_gives_one_draft(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    generator: ScriptedGenerator,
    gd_clock: FrozenClock,
) -> None:
    generator.script = [RetryLater("rate limited"), None]
    order = await new_order(gd_runtime, "kit", generator="scripted", requires_review=True)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    assert await state(gd_runtime, order) == (F.GENERATING, [])
    gd_clock.advance(seconds=900)
    await gd_run_jobs()
    assert await state(gd_runtime, order) == (F.DRAFT_READY, [AssetKind.DRAFT])
    # running the job again (a duplicate delivery) neither calls the generator nor adds a draft
    await fulfilment.generate(gd_runtime, order.id, round_=1)
    assert len(generator.requests) == 2
    assert await state(gd_runtime, order) == (F.DRAFT_READY, [AssetKind.DRAFT])


async def test_a_generator_error_is_generation_failed_with_its_reason(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    generator: ScriptedGenerator,
) -> None:
    generator.script = [PermissionError("invalid API key")]
    order = await new_order(gd_runtime, "kit", generator="scripted", requires_review=True)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    assert await state(gd_runtime, order) == (F.GENERATION_FAILED, [])
    async with gd_runtime.db.transaction() as session:
        reason = (
            await session.execute(
                sa.select(AuditEvent.reason).where(AuditEvent.to_state == "generation_failed")
            )
        ).scalar_one()
        jobs = list(
            (await session.execute(sa.select(Job.state).where(Job.kind == "generate"))).scalars()
        )
    assert reason == "PermissionError: invalid API key"
    assert jobs == [JobState.DONE]  # a failed generation is an outcome, not a dead job


async def test_nothing_is_generated_for_an_unpaid_order(
    gd_runtime: Runtime, generator: ScriptedGenerator
) -> None:
    order = await new_order(gd_runtime, "kit", generator="scripted")
    await fulfilment.start(gd_runtime, order.id)
    await fulfilment.generate(gd_runtime, order.id, round_=1)
    assert generator.requests == []
    assert await state(gd_runtime, order) == (F.RECEIVED, [])
    async with gd_runtime.db.transaction() as session:
        reasons = list(
            (
                await session.execute(
                    sa.select(AuditEvent.reason).where(AuditEvent.event == "skipped")
                )
            ).scalars()
        )
        row = await lock(session, Order, order.id)
        assert row is not None
        with pytest.raises(IllegalTransition, match="the order is unpaid, not paid"):
            await fulfilment.move(gd_runtime, session, row, F.QUEUED, actor="staff")
    assert reasons == [
        "fulfilment skipped: the order is unpaid, not paid",
        "generation skipped: the order is unpaid, not paid",
    ]


async def _file(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_a_stored_file_is_published_at_once(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await new_order(gd_runtime, "guide")
    stored = await gd_runtime.storage.save("products/guide-file", _file(b"%PDF-1.7 guide"))
    async with gd_runtime.db.transaction() as session:
        session.add(
            Asset(
                product_id=order.product_id,
                kind=AssetKind.PRODUCT_FILE,
                storage="local",
                key=stored.key,
                filename="guide.pdf",
                media_type="application/pdf",
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                created_at=gd_runtime.clock.now(),
            )
        )
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    assert await state(gd_runtime, order) == (F.PUBLISHED, [])
    async with gd_runtime.db.transaction() as session:
        events = list(
            (await session.execute(sa.select(Job.payload).where(Job.kind == "event"))).scalars()
        )
    assert {e["event"] for e in events} == {"payment_confirmed", "fulfilment_published"}


async def test_review_without_a_final_cannot_be_published(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await new_order(gd_runtime, "rapport", requires_review=True)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    assert await state(gd_runtime, order) == (F.RECEIVED, [])
    async with gd_runtime.db.transaction() as session:
        row = await lock(session, Order, order.id)
        assert row is not None
        with pytest.raises(IllegalTransition, match="a final document must be uploaded first"):
            await fulfilment.move(gd_runtime, session, row, F.PUBLISHED, actor="staff")
    assert await state(gd_runtime, order) == (F.RECEIVED, [])


async def test_staff_retry_after_a_failed_generation_makes_a_new_round(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    generator: ScriptedGenerator,
) -> None:
    from gated_delivery.errors import ActionRefused

    generator.script = [PermissionError("invalid API key")]
    order = await new_order(gd_runtime, "kit", generator="scripted", requires_review=True)
    with pytest.raises(ActionRefused, match="only a failed generation can be retried"):
        await fulfilment.retry_generation(gd_runtime, order.id, actor="staff:ops")
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    assert await state(gd_runtime, order) == (F.GENERATION_FAILED, [])
    assert await fulfilment.retry_generation(gd_runtime, order.id, actor="staff:ops") == 2
    await gd_run_jobs()
    assert await state(gd_runtime, order) == (F.DRAFT_READY, [AssetKind.DRAFT])
    async with gd_runtime.db.transaction() as session:
        stored = (
            await session.execute(
                sa.select(AuditEvent.data).where(AuditEvent.event == "draft_stored")
            )
        ).scalar_one()
    assert stored["model"] == "test"  # the generator's metadata is kept with the draft


async def test_a_generation_that_never_gets_through_ends_failed(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    generator: ScriptedGenerator,
    gd_clock: FrozenClock,
) -> None:
    generator.script = [RetryLater("rate limited")] * 20
    order = await new_order(gd_runtime, "kit", generator="scripted", requires_review=True)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    for _ in range(gd_runtime.settings.job_max_attempts):
        gd_clock.advance(seconds=900)
        await gd_run_jobs()
    assert await state(gd_runtime, order) == (F.GENERATION_FAILED, [])
    async with gd_runtime.db.transaction() as session:
        reason = (
            await session.execute(
                sa.select(AuditEvent.reason).where(AuditEvent.to_state == "generation_failed")
            )
        ).scalar_one()
    assert reason == "gave up: rate limited"
