"""Writing events: one event row and one delivery job per subscribed endpoint.

Called inside the transaction of the change (``transition``, order creation, link
revocation), so an event exists exactly when its change committed. With no endpoint
subscribed nothing is written at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import job_kinds
from gated_delivery.ids import new_public_id
from gated_delivery.jobspec import enqueue
from gated_delivery.models import (
    Order,
    PaymentAttempt,
    WebhookEndpoint,
    WebhookEvent,
)
from gated_delivery.states import AttemptState
from gated_delivery.webhooks.events import BY_NAME, TRANSITION_EVENTS, attempt_data, order_data

#: Seconds to wait after each failed try (Svix's schedule): 5 s, 5 min, 30 min, 2 h, 5 h,
#: 10 h, 10 h; with the first try at once that makes eight tries over about 27 hours.
RETRY_DELAYS_SECONDS: Final = (5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_TRIES: Final = len(RETRY_DELAYS_SECONDS) + 1


def retry_delay_seconds(tries: int) -> float:
    """The wait after ``tries`` failed tries, from the schedule."""
    return float(RETRY_DELAYS_SECONDS[min(max(tries, 1), len(RETRY_DELAYS_SECONDS)) - 1])


def new_event_id() -> str:
    """A random event id, sent as ``webhook-id``: receivers drop redeliveries by it."""
    return f"evt_{new_public_id()}"


async def subscribed(session: AsyncSession, event_type: str) -> list[WebhookEndpoint]:
    """The active endpoints that asked for ``event_type``."""
    active = await session.execute(
        sa.select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True))
    )
    return [e for e in active.scalars() if event_type in e.event_types]


async def emit(
    session: AsyncSession,
    event_type: str,
    order: Order,
    *,
    now: datetime,
    data: Mapping[str, Any] | None = None,
) -> str | None:
    """Write an event about ``order`` and its delivery jobs; the event id, or None.

    ``data`` replaces the order's default data (``events.order_data``) when given.
    """
    if event_type not in BY_NAME:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    endpoints = await subscribed(session, event_type)
    if not endpoints:
        return None
    event = WebhookEvent(
        id=new_event_id(),
        type=event_type,
        order_id=order.id,
        data=dict(data if data is not None else order_data(order)),
        created_at=now,
    )
    session.add(event)
    await session.flush()
    await _enqueue_all(session, event, endpoints, now=now)
    return event.id


async def _enqueue_all(
    session: AsyncSession,
    event: WebhookEvent,
    endpoints: Sequence[WebhookEndpoint],
    *,
    now: datetime,
    again: str = "",
) -> None:
    for endpoint in endpoints:
        await enqueue(
            session,
            job_kinds.webhook_delivery_job(
                event.id, endpoint.id, event.order_id, tries=MAX_TRIES, again=again
            ),
            now=now,
        )


async def emit_for_transition(
    session: AsyncSession,
    machine: str,
    row: Any,
    target: str,
    *,
    now: datetime,
    order_id: str,
) -> str | None:
    """Emit the event a state-machine move sends, if it sends one (``TRANSITION_EVENTS``)."""
    event_type = TRANSITION_EVENTS.get((machine, target))
    if event_type is None:
        return None
    order = row if isinstance(row, Order) else await session.get(Order, order_id)
    if order is None:  # pragma: no cover - the caller holds the order's row
        return None
    if isinstance(row, PaymentAttempt):
        return await emit(session, event_type, order, now=now, data=attempt_data(order, row))
    data = order_data(order)
    if event_type == "order.paid":
        paid = await session.execute(
            sa.select(PaymentAttempt.id, PaymentAttempt.provider).where(
                PaymentAttempt.order_id == order.id,
                PaymentAttempt.state == AttemptState.SUCCEEDED,
            )
        )
        for attempt_id, provider in paid:
            data |= {"attempt_id": attempt_id, "provider": provider}
    return await emit(session, event_type, order, now=now, data=data)


async def send_again(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    events: Sequence[WebhookEvent],
    *,
    now: datetime,
) -> int:
    """Queue ``events`` once more for ``endpoint``, with their own ids; returns how many."""
    again = new_public_id()
    for event in events:
        await _enqueue_all(session, event, [endpoint], now=now, again=again)
    return len(events)
