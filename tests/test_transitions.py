"""transition(): the move, its audit event and its jobs commit together or not at all."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import sqlalchemy as sa

from gated_delivery.config import CoreSettings
from gated_delivery.db import lock
from gated_delivery.errors import IllegalTransition
from gated_delivery.jobspec import JobSpec
from gated_delivery.models import AuditEvent, Job, Order
from gated_delivery.runtime import Runtime
from gated_delivery.states import FULFILMENT, ORDER, FulfilmentState, PaymentStatus
from gated_delivery.testing import make_order
from gated_delivery.transitions import transition


@pytest.fixture
def gd_settings(gd_settings: CoreSettings) -> CoreSettings:
    return gd_settings.model_copy(update={"job_max_attempts": 3})


async def move_order(
    rt: Runtime, order_id: str, target: PaymentStatus, *, jobs: Sequence[JobSpec] = ()
) -> bool:
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        assert order is not None
        return await transition(
            session,
            ORDER,
            order,
            "payment_status",
            target,
            now=rt.clock.now(),
            order_id=order_id,
            actor="test",
            jobs=jobs,
        )


async def rows(rt: Runtime, order_id: str) -> tuple[list[str], list[tuple[str, int]]]:
    async with rt.db.transaction() as session:
        events = await session.execute(
            sa.select(AuditEvent.to_state)
            .where(AuditEvent.order_id == order_id, AuditEvent.event == "transition")
            .order_by(AuditEvent.id)
        )
        jobs = await session.execute(
            sa.select(Job.kind, Job.max_attempts).where(Job.order_id == order_id)
        )
        return [str(e) for e in events.scalars()], [(k, n) for k, n in jobs.all()]


async def test_a_move_writes_one_audit_event_and_its_jobs(gd_runtime: Runtime) -> None:
    order = await make_order(gd_runtime)
    job = JobSpec("noted", {"order_id": order.id}, order_id=order.id)
    assert await move_order(gd_runtime, order.id, PaymentStatus.PENDING, jobs=[job])
    events, jobs = await rows(gd_runtime, order.id)
    assert events == ["pending"]
    # the job takes GD_JOB_MAX_ATTEMPTS from the runtime's settings, not a default of its own
    assert jobs == [("noted", 3)]


async def test_a_repeat_writes_nothing(gd_runtime: Runtime) -> None:
    order = await make_order(gd_runtime)
    await move_order(gd_runtime, order.id, PaymentStatus.PENDING)
    again = JobSpec("noted", {}, order_id=order.id)
    assert not await move_order(gd_runtime, order.id, PaymentStatus.PENDING, jobs=[again])
    assert await rows(gd_runtime, order.id) == (["pending"], [])


async def test_an_illegal_move_raises_and_leaves_no_trace(gd_runtime: Runtime) -> None:
    order = await make_order(gd_runtime)
    job = JobSpec("noted", {}, order_id=order.id)
    with pytest.raises(IllegalTransition, match="unpaid"):
        await move_order(gd_runtime, order.id, PaymentStatus.REFUNDED, jobs=[job])
    assert await rows(gd_runtime, order.id) == ([], [])
    async with gd_runtime.db.transaction() as session:
        stored = await session.get(Order, order.id)
        assert stored is not None
        assert stored.payment_status is PaymentStatus.UNPAID


async def test_a_job_with_its_own_tries_keeps_them(gd_runtime: Runtime) -> None:
    order = await make_order(gd_runtime)
    own = JobSpec("scheduled", {}, order_id=order.id, max_attempts=7)
    async with gd_runtime.db.transaction() as session:
        locked = await lock(session, Order, order.id)
        assert locked is not None
        await transition(
            session,
            FULFILMENT,
            locked,
            "fulfilment_status",
            FulfilmentState.REVOKED,
            now=gd_runtime.clock.now(),
            order_id=order.id,
            actor="test",
            jobs=[own],
        )
    assert (await rows(gd_runtime, order.id))[1] == [("scheduled", 7)]
