"""Storing an authenticated notification and queueing its check: the webhook's hot path.

Both steps happen atomically, so a notification is never stored without its check queued,
nor a check queued twice for one notification. On PostgreSQL this is one statement sent
straight through the engine's asyncpg connection: a webhook burst is the load this app
meets, and the ORM's per-statement overhead was most of its cost (see ``nox -s bench``).
SQLite, the embedded default, takes the ORM path inside one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final

import sqlalchemy as sa

from gated_delivery import job_kinds
from gated_delivery.db import Database, insert_ignore
from gated_delivery.models import Notification, PaymentAttempt
from gated_delivery.plugin_types import NotificationRef
from gated_delivery.transitions import enqueue

MAX_DEDUPE_KEY: Final = 200

# $1 attempt id, $2 provider, $3 dedupe key, $4 body, $5 now, $6 job kind, $7 max attempts
_PG_STORE_AND_QUEUE: Final = """
WITH attempt AS (
    SELECT id, order_id FROM gd_payment_attempt WHERE id = $1 AND provider = $2
), stored AS (
    INSERT INTO gd_notification (provider, dedupe_key, attempt_id, body_redacted, received_at)
    VALUES ($2, $3, (SELECT id FROM attempt), $4, $5)
    ON CONFLICT (provider, dedupe_key) DO NOTHING
    RETURNING attempt_id
), queued AS (
    INSERT INTO gd_job (kind, payload, order_id, state, attempts, max_attempts, run_after,
                        last_error, created_at)
    SELECT $6, json_build_object('attempt_id', attempt.id), attempt.order_id, 'pending', 0,
           $7, $5, '', $5
    FROM stored JOIN attempt ON attempt.id = stored.attempt_id
    RETURNING id
)
SELECT count(*) FROM stored
"""


def dedupe_key(key: str) -> str:
    """The key as stored: itself, or its SHA-256 when too long (never silently truncated)."""
    if len(key) <= MAX_DEDUPE_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


async def store_and_queue(
    db: Database, provider: str, ref: NotificationRef, *, now: datetime
) -> bool:
    """Store the notification and queue a check of its attempt; False for a duplicate.

    A notification about an attempt we do not know (or another provider's) is stored for
    the record and queues nothing.
    """
    key = dedupe_key(ref.dedupe_key)
    if db.is_postgresql:
        pool = await db.driver_pool()
        async with pool.acquire() as conn:
            count = await conn.fetchval(
                _PG_STORE_AND_QUEUE,
                ref.attempt_id,
                provider,
                key,
                ref.body_redacted,
                now,
                job_kinds.VERIFY,
                db.job_max_attempts,
            )
        return bool(count)
    async with db.transaction() as session:
        attempt = (
            await session.execute(
                sa.select(PaymentAttempt.id, PaymentAttempt.order_id).where(
                    PaymentAttempt.id == ref.attempt_id, PaymentAttempt.provider == provider
                )
            )
        ).first()
        stored = await insert_ignore(
            session,
            Notification,
            {
                "provider": provider,
                "dedupe_key": key,
                "attempt_id": attempt[0] if attempt else None,
                "body_redacted": ref.body_redacted,
                "received_at": now,
            },
            conflict=["provider", "dedupe_key"],
        )
        if stored is not None and attempt is not None:
            job = job_kinds.verify_job(attempt[0], attempt[1])
            await enqueue(session, job, now=now)
        return stored is not None
