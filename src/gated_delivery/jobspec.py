"""Outbox job rows as written by a change: what a job is, and writing it at most once.

Kept apart from ``transitions`` so that modules the transition path calls (webhooks) can
write jobs without importing it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery.db import DEFAULT_JOB_MAX_ATTEMPTS, JOB_MAX_ATTEMPTS, insert_ignore
from gated_delivery.models import Job, JobState


@dataclass(frozen=True)
class JobSpec:
    """An outbox job to write with a change. ``dedupe_key`` makes it exist at most once."""

    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None
    order_id: str | None = None
    run_after: datetime | None = None
    #: overrides the caller's default (a webhook delivery follows its own schedule)
    max_attempts: int | None = None


async def enqueue(session: AsyncSession, job: JobSpec, *, now: datetime) -> int | None:
    """Write ``job`` to the outbox; None if a job with its dedupe key already exists.

    Its tries are the job's own ``max_attempts``, else those of the database the session
    belongs to (``GD_JOB_MAX_ATTEMPTS``, set once by ``build_runtime``).
    """
    default = int(session.info.get(JOB_MAX_ATTEMPTS, DEFAULT_JOB_MAX_ATTEMPTS))
    values = {
        "kind": job.kind,
        "payload": dict(job.payload),
        "order_id": job.order_id,
        "state": JobState.PENDING,
        "max_attempts": job.max_attempts or default,
        "run_after": job.run_after or now,
        "created_at": now,
    }
    if job.dedupe_key is None:
        row = Job(**values)
        session.add(row)
        await session.flush()
        return row.id
    return await insert_ignore(
        session, Job, {**values, "dedupe_key": job.dedupe_key}, conflict=["dedupe_key"]
    )
