"""Steps the provider tests of both API generations share: start, post, read states, count."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import sqlalchemy as sa
from click.testing import CliRunner

from gated_delivery.cli import main
from gated_delivery.models import AuditEvent, Order, PaymentAttempt
from gated_delivery.payments import view
from gated_delivery.plugin_types import AttemptView
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, FulfilmentState, PaymentStatus

#: Wire form of a notification: body, headers, query (the contract's ``Wire``).
Wire = tuple[bytes, dict[str, str], dict[str, str]]


async def start(client: httpx.AsyncClient, rt: Runtime, order: Order) -> AttemptView:
    response = await client.post(f"/checkout/{order.id}/cinetpay")
    assert response.status_code == 303, response.text
    async with rt.db.transaction() as session:
        attempt = (
            (
                await session.execute(
                    sa.select(PaymentAttempt)
                    .where(PaymentAttempt.order_id == order.id)
                    .order_by(PaymentAttempt.created_at.desc())
                )
            )
            .scalars()
            .first()
        )
        assert attempt is not None
        return view(attempt)


async def post(client: httpx.AsyncClient, wire: Wire) -> httpx.Response:
    body, headers, query = wire
    return await client.post(
        "/payments/cinetpay/notify", content=body, headers=headers, params=query
    )


async def states(rt: Runtime, order: Order) -> tuple[AttemptState, PaymentStatus, FulfilmentState]:
    async with rt.db.transaction() as session:
        row = await session.get(Order, order.id)
        assert row is not None
        attempt = (
            (
                await session.execute(
                    sa.select(PaymentAttempt.state)
                    .where(PaymentAttempt.order_id == order.id)
                    .order_by(PaymentAttempt.created_at.desc())
                )
            )
            .scalars()
            .first()
        )
        assert attempt is not None
        return attempt, row.payment_status, row.fulfilment_status


async def count(rt: Runtime, query: sa.Select[Any]) -> int:
    async with rt.db.transaction() as session:
        return int((await session.execute(query)).scalar_one())


def deliveries(order: Order) -> sa.Select[Any]:
    """Publications of the order's deliverable: a delivery is one PUBLISHED transition."""
    return (
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.order_id == order.id,
            AuditEvent.to_state == FulfilmentState.PUBLISHED.value,
        )
    )


def rejections() -> sa.Select[Any]:
    return (
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.machine == "webhook", AuditEvent.event == "rejected")
    )


def rows(model: type) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(model)


async def reconcile_cli(*args: str) -> str:
    """``gated-delivery reconcile ARGS`` as an operator runs it; its output."""
    # click runs its own event loop (asyncio.run): give it a thread of its own
    result = await asyncio.to_thread(CliRunner().invoke, main, ["reconcile", *args])
    assert result.exit_code == 0, result.output
    return result.output
