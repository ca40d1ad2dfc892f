"""One order's whole story, read once: its payments, files, links, jobs and audit trail.

The staff order page and ``gated-delivery orders show`` both read an order through
``load``; each renders the same ``OrderHistory`` in its own way.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery.errors import NotFound
from gated_delivery.models import Asset, AssetKind, AuditEvent, DownloadToken, Job, Order
from gated_delivery.models import PaymentAttempt as Attempt
from gated_delivery.orders import get_order
from gated_delivery.runtime import Runtime
from gated_delivery.states import OPEN_ATTEMPTS, AttemptState, PaymentStatus

Row = TypeVar("Row")


@dataclass(frozen=True)
class OrderHistory:
    """An order and every row that belongs to it, each list oldest first."""

    order: Order
    attempts: Sequence[Attempt]
    assets: Sequence[Asset]
    tokens: Sequence[DownloadToken]
    jobs: Sequence[Job]
    events: Sequence[AuditEvent]

    def assets_of(self, kind: AssetKind) -> list[Asset]:
        """The order's files of one kind, superseded ones included."""
        return [a for a in self.assets if a.kind is kind]

    def live_tokens(self, now: datetime) -> list[DownloadToken]:
        """The links that would still give the file at ``now``."""
        return [
            t
            for t in self.tokens
            if t.revoked_at is None and t.expires_at > now and t.use_count < t.max_uses
        ]

    @property
    def has_final(self) -> bool:
        """Whether a final document is in place (none replaced it)."""
        return any(a.superseded_at is None for a in self.assets_of(AssetKind.FINAL))

    @property
    def open_attempts(self) -> int:
        """How many payment attempts still wait for the provider's word."""
        return sum(a.state in OPEN_ATTEMPTS for a in self.attempts)

    @property
    def has_review(self) -> bool:
        """Whether a payment attempt waits for a staff decision."""
        return any(a.state is AttemptState.REVIEW for a in self.attempts)


async def load(session: AsyncSession, order_id: str) -> OrderHistory:
    """The order's history (``NotFound`` for an unknown order)."""
    order = await get_order(session, order_id)

    async def rows(model: type[Row], owner: Any, oldest_first: Any) -> list[Row]:
        query = sa.select(model).where(owner == order.id).order_by(oldest_first)
        return list((await session.execute(query)).scalars())

    return OrderHistory(
        order=order,
        attempts=await rows(Attempt, Attempt.order_id, Attempt.created_at),
        assets=await rows(Asset, Asset.order_id, Asset.created_at),
        tokens=await rows(DownloadToken, DownloadToken.order_id, DownloadToken.created_at),
        jobs=await rows(Job, Job.order_id, Job.id),
        events=await rows(AuditEvent, AuditEvent.order_id, AuditEvent.id),
    )


async def read(rt: Runtime, order_id: str) -> OrderHistory:
    """``load`` in a transaction of its own."""
    async with rt.db.transaction() as session:
        return await load(session, order_id)


async def order_file(rt: Runtime, asset_id: str) -> Asset:
    """A file of an order, for a staff download (``NotFound`` for anything else)."""
    async with rt.db.transaction() as session:
        asset = await session.get(Asset, asset_id)
    if asset is None or asset.order_id is None:
        raise NotFound("no such file")
    return asset


async def last_try(session: AsyncSession, order: Order) -> str:
    """The provider's word to the buyer about their last try (``ProviderStatus.buyer_message``),
    while the order waits for a payment still open; an empty string otherwise."""
    if order.payment_status is not PaymentStatus.PENDING:
        return ""
    found = await session.execute(
        sa.select(Attempt.buyer_message)
        .where(
            Attempt.order_id == order.id,
            Attempt.state.in_(list(OPEN_ATTEMPTS)),
            Attempt.buyer_message != "",
        )
        .order_by(Attempt.updated_at.desc(), Attempt.id)
        .limit(1)
    )
    return found.scalar_one_or_none() or ""


async def buyer_status(rt: Runtime, order_id: str) -> tuple[Order, str]:
    """The order (``NotFound`` if unknown) and its ``last_try``, read together."""
    async with rt.db.transaction() as session:
        order = await get_order(session, order_id)
        return order, await last_try(session, order)


async def last_try_of(rt: Runtime, order: Order) -> str:
    """``last_try`` in a transaction of its own."""
    async with rt.db.transaction() as session:
        return await last_try(session, order)


async def describe_order(session: AsyncSession, order_id: str) -> dict[str, Any]:
    """Everything about an order for operators (``orders show --json``), as plain data."""
    return describe(await load(session, order_id))


def describe(history: OrderHistory) -> dict[str, Any]:
    """The operator's view of a history: states, attempts, jobs, assets, audit trail."""
    order = history.order
    drafts = [e.data for e in history.events if e.event == "draft_stored"]
    return {
        "id": order.id,
        "product": order.product.slug,
        "tier": order.tier_id,
        "amount": str(order.price),
        "buyer": {"name": order.buyer_name, "email": order.buyer_email},
        "answers": order.answers,
        "payment": order.payment_status.value,
        "fulfilment": order.fulfilment_status.value,
        "created_at": order.created_at.isoformat(),
        "attempts": [_plain(a, ATTEMPT_FIELDS) for a in history.attempts],
        "jobs": [_plain(j, JOB_FIELDS) for j in history.jobs],
        "assets": [_plain(a, ASSET_FIELDS) for a in history.assets],
        # the latest draft's generator metadata (model, token usage, duration), as staff see it
        "draft": dict(drafts[-1]) if drafts else None,
        "audit": [_plain(e, EVENT_FIELDS) for e in history.events],
    }


#: The columns of each row in the operator's view: ``key=attribute`` or just the attribute.
ATTEMPT_FIELDS: Final = "id provider state amount_minor currency provider_ref created_at"
JOB_FIELDS: Final = "id kind state attempts last_error"
ASSET_FIELDS: Final = "id kind filename size_bytes sha256"
EVENT_FIELDS: Final = "at=created_at machine event from=from_state to=to_state actor reason data"


def _plain(row: Any, fields: str) -> dict[str, Any]:
    """``row``'s ``fields`` as JSON-ready values, in the order they are named."""
    out: dict[str, Any] = {}
    for field in fields.split():
        key, _, attribute = field.partition("=")
        out[key] = _json_ready(getattr(row, attribute or key))
    return out


def _json_ready(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return dict(value)  # a copy: the caller may change it
    return value
