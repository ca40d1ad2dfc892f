"""Orders with a past, written straight into the database, for overview and export tests.

Real flows (``pay_with_fake``) are for behaviour; these rows are for figures: each
``SeededOrder`` says when it was created, paid and published, and becomes an order, its
succeeded payment attempt and the fulfilment audit event, inserted in batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery.ids import new_public_id
from gated_delivery.models import AuditEvent, Order, PaymentAttempt
from gated_delivery.states import AttemptState, FulfilmentState, PaymentStatus

BATCH: Final = 5000
#: An order row, and its attempt and audit rows when it has them.
Rows = tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]


@dataclass(frozen=True)
class SeededOrder:
    """One order's story: created, perhaps paid, perhaps published, perhaps refunded."""

    created_at: datetime
    amount_minor: int = 5000
    currency: str = "XOF"
    paid_at: datetime | None = None
    published_at: datetime | None = None
    is_refunded: bool = False
    provider: str = "fake"
    fulfilment: FulfilmentState | None = None
    buyer_email: str = "awa@example.org"
    buyer_name: str = "Awa"


def _status(seed: SeededOrder) -> PaymentStatus:
    if seed.is_refunded:
        return PaymentStatus.REFUNDED
    return PaymentStatus.PAID if seed.paid_at else PaymentStatus.UNPAID


def _fulfilment(seed: SeededOrder) -> FulfilmentState:
    if seed.fulfilment is not None:
        return seed.fulfilment
    return FulfilmentState.PUBLISHED if seed.published_at else FulfilmentState.RECEIVED


def _rows(seed: SeededOrder, product_id: int, tier_id: str) -> Rows:
    order_id = new_public_id()
    order = {
        "id": order_id,
        "product_id": product_id,
        "tier_id": tier_id,
        "amount_minor": seed.amount_minor,
        "currency": seed.currency,
        "buyer_name": seed.buyer_name,
        "buyer_email": seed.buyer_email,
        "answers": {},
        "payment_status": _status(seed),
        "fulfilment_status": _fulfilment(seed),
        "paid_at": seed.paid_at,
        "created_at": seed.created_at,
        "updated_at": seed.paid_at or seed.created_at,
    }
    attempt: dict[str, Any] | None = None
    if seed.paid_at:
        attempt = {
            "id": new_public_id(),
            "order_id": order_id,
            "provider": seed.provider,
            "state": AttemptState.SUCCEEDED,
            "amount_minor": seed.amount_minor,
            "currency": seed.currency,
            "provider_ref": f"ref-{order_id[:12]}",
            "provider_data": {},
            "confirmed_amount_minor": seed.amount_minor,
            "confirmed_currency": seed.currency,
            "created_at": seed.created_at,
            "updated_at": seed.paid_at,
        }
    event: dict[str, Any] | None = None
    if seed.published_at:
        event = {
            "order_id": order_id,
            "machine": "fulfilment",
            "subject_id": order_id,
            "from_state": FulfilmentState.FINAL_UPLOADED.value,
            "to_state": FulfilmentState.PUBLISHED.value,
            "event": "transition",
            "actor": "staff:seed@example.org",
            "reason": "",
            "data": {},
            "created_at": seed.published_at,
        }
    return order, attempt, event


async def seed_orders(
    session: AsyncSession, product_id: int, tier_id: str, seeds: Iterable[SeededOrder]
) -> list[str]:
    """Insert the orders (in batches of ``BATCH``); returns their ids in the given order."""
    ids: list[str] = []
    batch: list[Rows] = []
    for seed in seeds:
        batch.append(_rows(seed, product_id, tier_id))
        if len(batch) == BATCH:
            ids += await _insert(session, batch)
            batch = []
    if batch:
        ids += await _insert(session, batch)
    return ids


async def _insert(session: AsyncSession, batch: list[Rows]) -> list[str]:
    for model, index in ((Order, 0), (PaymentAttempt, 1), (AuditEvent, 2)):
        rows = [row for parts in batch if (row := parts[index]) is not None]
        if rows:
            await session.execute(sa.insert(model), rows)
    return [parts[0]["id"] for parts in batch]
