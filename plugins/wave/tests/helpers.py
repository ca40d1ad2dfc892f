"""Small helpers of the Wave tests: start a payment, read states, count rows."""

from __future__ import annotations

import asyncio

import httpx
import sqlalchemy as sa
from gated_delivery_wave.testing import CollectingDeliverer

from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus

NOTIFY = "/payments/wave/notify"


async def checkout(client: httpx.AsyncClient, rt: Runtime, order: Order) -> PaymentAttempt:
    """Start a Wave payment of ``order``; the new attempt (found by its session id)."""
    response = await client.post(f"/checkout/{order.id}/wave")
    assert response.status_code == 303, response.text
    session_id = response.headers["location"].rsplit("/", 1)[1]
    async with rt.db.transaction() as session:
        attempts = (
            await session.execute(
                sa.select(PaymentAttempt).where(PaymentAttempt.order_id == order.id)
            )
        ).scalars()
        # the frozen clock gives attempts one created_at: find ours by its session id
        return next(a for a in attempts if a.provider_data.get("session_id") == session_id)


async def states(rt: Runtime, attempt_id: str) -> tuple[AttemptState, PaymentStatus]:
    """The attempt's state and its order's payment status."""
    async with rt.db.transaction() as session:
        attempt = await session.get(PaymentAttempt, attempt_id)
        assert attempt is not None
        order = await session.get(Order, attempt.order_id)
        assert order is not None
        return attempt.state, order.payment_status


async def count(rt: Runtime, model: type, *where: sa.ColumnElement[bool]) -> int:
    """How many rows of ``model`` match ``where``."""
    async with rt.db.transaction() as session:
        query = sa.select(sa.func.count()).select_from(model).where(*where)
        return int((await session.execute(query)).scalar_one())


async def wait_for_webhooks(deliverer: CollectingDeliverer, expected: int) -> None:
    """Wait (bounded) until the simulator has sent ``expected`` webhooks: the payer's page
    sends them after redirecting, as Wave does."""
    for _ in range(500):
        if deliverer.pending() >= expected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the simulator sent fewer than {expected} webhook(s)")
