"""Fulfilment: what happens to a PAID order until its deliverable is published.

Every step re-checks that the order is PAID inside the transaction that acts, so a job
queued before a refund, or run twice, never generates or publishes for an unpaid order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import assets, job_kinds
from gated_delivery.db import insert_ignore, lock
from gated_delivery.errors import ActionRefused, IllegalTransition, NotFound, RetryLater
from gated_delivery.ids import new_public_id
from gated_delivery.models import Asset, AssetKind, Job, Order
from gated_delivery.plugin_protocols import Generator
from gated_delivery.plugin_types import GeneratedDocument, GenerationRequest
from gated_delivery.runtime import Runtime
from gated_delivery.states import FULFILMENT, NEEDS_PAYMENT, FulfilmentState, PaymentStatus
from gated_delivery.tokens import revoke_all
from gated_delivery.transitions import JobSpec, audit, scalars_only, transition

F = FulfilmentState


async def move(
    rt: Runtime,
    session: AsyncSession,
    order: Order,
    target: FulfilmentState,
    *,
    actor: str,
    reason: str = "",
    jobs: list[JobSpec] | None = None,
) -> bool:
    """Move a locked order's fulfilment, enforcing the guards the table cannot express.

    Every state past RECEIVED needs a PAID order; PUBLISHED needs a final asset when the
    product requires review, and some deliverable in any case.
    """
    jobs = list(jobs or [])
    if target in NEEDS_PAYMENT and order.payment_status is not PaymentStatus.PAID:
        raise _refused(order, target, f"the order is {order.payment_status.value}, not paid")
    if target is F.PUBLISHED and order.fulfilment_status is not F.PUBLISHED:
        asset = await assets.deliverable(session, order)
        if asset is None:
            needed = "a final document" if order.product.requires_review else "a file to deliver"
            raise _refused(order, target, f"{needed} must be uploaded first")
        jobs.append(
            job_kinds.event_job("fulfilment_published", order.id, key=asset.id, asset_id=asset.id)
        )
        jobs.append(job_kinds.mail_job("file_ready", order.id, key=f"ready:{order.id}:{asset.id}"))
    if target is F.REVOKED:
        await revoke_all(
            session,
            order.id,
            now=rt.clock.now(),
            actor=actor,
            reason=reason or "fulfilment revoked",
        )
    return await transition(
        session,
        FULFILMENT,
        order,
        "fulfilment_status",
        target,
        now=rt.clock.now(),
        order_id=order.id,
        actor=actor,
        reason=reason,
        jobs=jobs,
    )


def _refused(order: Order, target: FulfilmentState, reason: str) -> IllegalTransition:
    """A move the state table allows but this order's payment or files do not."""
    return IllegalTransition(
        FULFILMENT.name,
        f"order {order.id}",
        order.fulfilment_status.value,
        target.value,
        [],
        reason=reason,
    )


async def start(rt: Runtime, order_id: str) -> None:
    """The ``fulfil`` job: generate, wait for a staff upload, or publish the product's file."""
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        if order is None or not await _still_paid(rt, session, order, "fulfilment"):
            return
        if order.fulfilment_status is not F.RECEIVED:
            return  # already started: this job ran before
        product = order.product
        if product.generator:
            await move(
                rt,
                session,
                order,
                F.QUEUED,
                actor="worker",
                reason=f"generation by {product.generator}",
                jobs=[job_kinds.generate_job(order.id, round_=1)],
            )
        elif not product.requires_review and await assets.deliverable(session, order) is not None:
            await move(rt, session, order, F.PUBLISHED, actor="worker", reason="instant delivery")
        else:
            audit(
                session,
                now=rt.clock.now(),
                order_id=order.id,
                machine=FULFILMENT.name,
                subject_id=order.id,
                event="awaiting_final",
                actor="worker",
                reason="waiting for staff to upload the final document",
            )


async def generate(rt: Runtime, order_id: str, *, round_: int) -> None:
    """The ``generate`` job: run the generator once per round, store one draft per round."""
    source_key = f"draft:{order_id}:{round_}"
    prepared = await _begin_generation(rt, order_id, source_key)
    if prepared is None:
        return  # not paid any more, or done, failed or revoked meanwhile
    if not prepared.stored:
        if prepared.generator is None:
            missing = f"generator {prepared.generator_name!r} is not installed"
            await _generation_failed(rt, order_id, missing)
            return
        try:
            document = await prepared.generator.generate(prepared.request)
        except RetryLater:
            raise
        except Exception as exc:
            await _generation_failed(rt, order_id, f"{type(exc).__name__}: {exc}")
            return
        await _store_draft(rt, order_id, source_key, document)
    await _draft_ready(rt, order_id)


@dataclass(frozen=True)
class _Round:
    """One generation round as read under the order's lock."""

    generator_name: str
    generator: Generator | None
    request: GenerationRequest
    stored: bool  # a rerun of a round whose draft is already stored


async def _begin_generation(rt: Runtime, order_id: str, source_key: str) -> _Round | None:
    """GENERATING, and what the generator needs; None when there is nothing to generate."""
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        if order is None or not await _still_paid(rt, session, order, "generation"):
            return None
        if order.fulfilment_status is F.QUEUED:
            await move(rt, session, order, F.GENERATING, actor="worker")
        elif order.fulfilment_status is not F.GENERATING:
            return None
        stored = await session.execute(sa.select(Asset.id).where(Asset.source_key == source_key))
        request = GenerationRequest(
            order_id=order.id,
            attempt_key=source_key,
            product_slug=order.product.slug,
            buyer_name=order.buyer_name,
            buyer_email=order.buyer_email,
            answers=dict(order.answers),
            document_names=tuple(await assets.upload_names(session, order.id)),
        )
        name = order.product.generator or ""
        found = stored.scalar_one_or_none() is not None
        return _Round(name, rt.generators.get(name), request, found)


async def _store_draft(
    rt: Runtime, order_id: str, source_key: str, document: GeneratedDocument
) -> None:
    """Store the round's draft once (a rerun of the round finds it by ``source_key``)."""
    stored = await rt.storage.save(f"{order_id}/{new_public_id()}", _one_chunk(document.content))
    now = rt.clock.now()
    row = assets.columns(
        stored,
        kind=AssetKind.DRAFT,
        storage=rt.storage.name,
        filename=document.filename,
        media_type=document.media_type,
        now=now,
        order_id=order_id,
    )
    async with rt.db.transaction() as session:
        await assets.supersede(session, order_id, AssetKind.DRAFT, now)
        values = {"id": new_public_id(), **row, "source_key": source_key}
        asset_id = await insert_ignore(session, Asset, values, conflict=["source_key"])
        if asset_id is not None:
            # model, tokens and duration: what staff need to judge and cost a draft
            audit(
                session,
                now=now,
                order_id=order_id,
                machine=FULFILMENT.name,
                subject_id=order_id,
                event="draft_stored",
                actor="worker",
                data={"asset_id": asset_id, **scalars_only(document.metadata)},
            )


async def _draft_ready(rt: Runtime, order_id: str) -> None:
    """DRAFT_READY, then PUBLISHED at once when the product needs no review."""
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        assert order is not None
        if order.fulfilment_status is not F.GENERATING:
            return
        await move(rt, session, order, F.DRAFT_READY, actor="worker", reason="draft stored")
        if not order.product.requires_review:
            await move(rt, session, order, F.PUBLISHED, actor="worker", reason="no review needed")


async def retry_generation(rt: Runtime, order_id: str, *, actor: str) -> int:
    """Queue a new generation round for an order whose generation failed; returns the round."""
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        if order is None:
            raise NotFound(f"no order {order_id!r}")
        if order.fulfilment_status is not F.GENERATION_FAILED:
            raise ActionRefused(
                f"order {order.id} is {order.fulfilment_status.value}: only a failed "
                "generation can be retried"
            )
        rounds = await session.execute(
            sa.select(sa.func.count())
            .select_from(Job)
            .where(Job.order_id == order.id, Job.kind == job_kinds.GENERATE)
        )
        round_ = int(rounds.scalar_one()) + 1
        await move(
            rt,
            session,
            order,
            F.QUEUED,
            actor=actor,
            reason=f"retry, round {round_}",
            jobs=[job_kinds.generate_job(order.id, round_=round_)],
        )
    rt.wake_worker()
    return round_


async def give_up_generation(rt: Runtime, payload: job_kinds.GeneratePayload, error: str) -> None:
    """When the generate job runs out of tries: GENERATION_FAILED, so staff can retry."""
    await _generation_failed(rt, str(payload["order_id"]), f"gave up: {error}")


async def _generation_failed(rt: Runtime, order_id: str, reason: str) -> None:
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        if order is not None and order.fulfilment_status is F.GENERATING:
            await move(
                rt, session, order, F.GENERATION_FAILED, actor="worker", reason=reason[:1000]
            )


async def _still_paid(rt: Runtime, session: AsyncSession, order: Order, what: str) -> bool:
    if order.payment_status is PaymentStatus.PAID:
        return True
    audit(
        session,
        now=rt.clock.now(),
        order_id=order.id,
        machine=FULFILMENT.name,
        subject_id=order.id,
        event="skipped",
        actor="worker",
        reason=f"{what} skipped: the order is {order.payment_status.value}, not paid",
    )
    return False


async def _one_chunk(content: bytes) -> AsyncIterator[bytes]:
    yield content
