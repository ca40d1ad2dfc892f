"""Applying a state-machine move: check the table, write the audit event and the jobs.

The caller holds the row locked (``db.lock``) inside the transaction; the move, its audit
event and its outbox jobs then commit together or not at all.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery.jobspec import JobSpec, enqueue
from gated_delivery.models import AuditEvent
from gated_delivery.states import Machine
from gated_delivery.webhooks.emit import emit_for_transition

__all__ = ["JobSpec", "audit", "enqueue", "scalars_only", "transition"]

S = TypeVar("S", bound=enum.Enum)
log = logging.getLogger(__name__)


def scalars_only(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Short scalar values only: what plugins' data may put into the audit trail."""
    out: dict[str, Any] = {}
    for key, value in dict(data or {}).items():
        if isinstance(value, str):
            out[str(key)[:60]] = value[:200]
        elif isinstance(value, int | float | bool) or value is None:
            out[str(key)[:60]] = value
    return out


def audit(
    session: AsyncSession,
    *,
    now: datetime,
    order_id: str | None,
    machine: str,
    subject_id: str,
    event: str,
    actor: str,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> None:
    """Add one audit event to the transaction."""
    session.add(
        AuditEvent(
            order_id=order_id,
            machine=machine,
            subject_id=subject_id,
            event=event,
            actor=actor,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            data=dict(data or {}),
            created_at=now,
        )
    )


async def transition(
    session: AsyncSession,
    machine: Machine[S],
    row: Any,
    attribute: str,
    target: S,
    *,
    now: datetime,
    order_id: str,
    actor: str,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
    jobs: Iterable[JobSpec] = (),
) -> bool:
    """Move ``row.<attribute>`` to ``target``; False (and nothing written) for a repeat.

    ``row`` must have been loaded with ``db.lock`` in this transaction. An illegal move
    raises ``IllegalTransition`` before anything is written.
    """
    current = getattr(row, attribute)
    subject = f"{type(row).__name__.lower()} {row.id}"
    if not machine.check_move(subject, current, target):
        return False
    setattr(row, attribute, target)
    audit(
        session,
        now=now,
        order_id=order_id,
        machine=machine.name,
        subject_id=str(row.id),
        event="transition",
        actor=actor,
        from_state=current.value,
        to_state=target.value,
        reason=reason,
        data=data,
    )
    for job in jobs:
        await enqueue(session, job, now=now)
    # the shop's own systems hear of the move in this same transaction (webhooks)
    await emit_for_transition(session, machine.name, row, target.value, now=now, order_id=order_id)
    await session.flush()
    log.info("%s %s: %s -> %s by %s", machine.name, row.id, current.value, target.value, actor)
    return True
