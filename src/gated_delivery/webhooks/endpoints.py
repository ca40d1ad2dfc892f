"""Managing webhook endpoints and their delivery log: what the CLI and staff pages call.

Every change is audited (machine ``webhook endpoint``) with who made it. A new or rotated
secret is returned once, to be shown once; only its encrypted form is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery.errors import ActionRefused, InvalidInput, NotFound
from gated_delivery.models import WebhookAttempt, WebhookEndpoint, WebhookEvent
from gated_delivery.runtime import Runtime
from gated_delivery.transitions import audit
from gated_delivery.webhooks import destinations, emit, signing
from gated_delivery.webhooks.events import BY_NAME, EVENTS
from gated_delivery.webhooks.sender import MACHINE

#: How long the previous secret still signs after a rotation.
ROTATION_GRACE: Final = timedelta(hours=24)
#: "Send again" for a time range queues at most this many events.
MAX_REPLAY: Final = 1000
MAX_DESCRIPTION: Final = 200


@dataclass(frozen=True)
class LogLine:
    """One try in an endpoint's delivery log."""

    attempt: WebhookAttempt
    event_type: str


def parse_event_types(names: Iterable[str]) -> list[str]:
    """The event types named (``all`` for every one), or ``InvalidInput`` naming the unknown."""
    wanted = [n.strip() for n in names if n.strip()]
    if "all" in wanted or "*" in wanted:
        return [e.name for e in EVENTS]
    unknown = [n for n in wanted if n not in BY_NAME]
    if unknown:
        known = ", ".join(e.name for e in EVENTS)
        raise InvalidInput(f"unknown event type {unknown[0]!r}; known: {known}, or all", "events")
    if not wanted:
        raise InvalidInput("name at least one event type (or all)", "events")
    return [e.name for e in EVENTS if e.name in wanted]


async def _get(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id!r}; `gated-delivery webhooks list`")
    return endpoint


def _audit(
    rt: Runtime, session: AsyncSession, endpoint_id: str, event: str, actor: str, reason: str = ""
) -> None:
    audit(
        session,
        now=rt.clock.now(),
        order_id=None,
        machine=MACHINE,
        subject_id=endpoint_id,
        event=event,
        actor=actor,
        reason=reason,
    )


async def add(
    rt: Runtime,
    url: str,
    event_types: Sequence[str],
    *,
    actor: str,
    description: str = "",
    include_buyer: bool = False,
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; returns it and its secret, which is never shown again."""
    destinations.check_url(url, allow_http=rt.settings.sandbox)
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"the description is longer than {MAX_DESCRIPTION} characters")
    types = parse_event_types(event_types)
    secret = signing.new_secret()
    async with rt.db.transaction() as session:
        endpoint = WebhookEndpoint(
            url=url,
            description=description.strip(),
            event_types=types,
            include_buyer=include_buyer,
            secret_encrypted=signing.SecretBox(rt.settings.secret).seal(secret),
            is_active=True,
            disabled_reason="",
            created_at=rt.clock.now(),
        )
        session.add(endpoint)
        await session.flush()
        _audit(rt, session, endpoint.id, "added", actor, ", ".join(types))
    return endpoint, secret


async def list_all(rt: Runtime) -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    async with rt.db.transaction() as session:
        found = await session.execute(
            sa.select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
        return list(found.scalars())


async def get(rt: Runtime, endpoint_id: str) -> WebhookEndpoint:
    """One endpoint, or ``NotFound``."""
    async with rt.db.transaction() as session:
        return await _get(session, endpoint_id)


async def disable(rt: Runtime, endpoint_id: str, *, actor: str) -> None:
    """Stop sending to an endpoint (its pending deliveries are logged and dropped)."""
    async with rt.db.transaction() as session:
        endpoint = await _get(session, endpoint_id)
        if not endpoint.is_active:
            raise ActionRefused(f"webhook endpoint {endpoint_id} is already disabled")
        endpoint.is_active = False
        endpoint.disabled_reason = f"disabled by {actor}"
        _audit(rt, session, endpoint.id, "disabled", actor)


async def enable(rt: Runtime, endpoint_id: str, *, actor: str) -> None:
    """Send to a disabled endpoint again, its failing streak forgotten."""
    async with rt.db.transaction() as session:
        endpoint = await _get(session, endpoint_id)
        if endpoint.is_active:
            raise ActionRefused(f"webhook endpoint {endpoint_id} is already enabled")
        endpoint.is_active = True
        endpoint.disabled_reason = ""
        endpoint.failing_since = None
        _audit(rt, session, endpoint.id, "enabled", actor)


async def rotate_secret(rt: Runtime, endpoint_id: str, *, actor: str) -> str:
    """Give an endpoint a new secret; the old one still signs for 24 hours. Returns the new."""
    secret = signing.new_secret()
    box = signing.SecretBox(rt.settings.secret)
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        endpoint = await _get(session, endpoint_id)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = now + ROTATION_GRACE
        endpoint.secret_encrypted = box.seal(secret)
        _audit(rt, session, endpoint.id, "secret_rotated", actor)
    return secret


async def remove(rt: Runtime, endpoint_id: str, *, actor: str) -> None:
    """Delete an endpoint and its delivery log; its pending deliveries find nothing to do."""
    async with rt.db.transaction() as session:
        endpoint = await _get(session, endpoint_id)
        # not the URL: it may carry a receiver's token in its query string
        _audit(rt, session, endpoint.id, "removed", actor)
        await session.delete(endpoint)


async def delivery_log(rt: Runtime, endpoint_id: str, *, limit: int = 100) -> list[LogLine]:
    """The endpoint's latest tries, newest first."""
    async with rt.db.transaction() as session:
        await _get(session, endpoint_id)
        rows = await session.execute(
            sa.select(WebhookAttempt, WebhookEvent.type)
            .join(WebhookEvent, WebhookEvent.id == WebhookAttempt.event_id)
            .where(WebhookAttempt.endpoint_id == endpoint_id)
            .order_by(WebhookAttempt.attempted_at.desc(), WebhookAttempt.id.desc())
            .limit(limit)
        )
        return [LogLine(attempt, event_type) for attempt, event_type in rows]


async def send_again(rt: Runtime, endpoint_id: str, event_id: str, *, actor: str) -> int:
    """Queue one event once more for an endpoint, with its own id; returns 1."""
    async with rt.db.transaction() as session:
        endpoint = await _active(session, endpoint_id)
        event = await session.get(WebhookEvent, event_id)
        if event is None:
            raise NotFound(f"no webhook event {event_id!r}")
        count = await emit.send_again(session, endpoint, [event], now=rt.clock.now())
        _audit(rt, session, endpoint.id, "sent_again", actor, event.id)
    rt.wake_worker()
    return count


async def send_again_between(
    rt: Runtime, endpoint_id: str, since: datetime, until: datetime, *, actor: str
) -> int:
    """Queue again every event of the endpoint's types created in ``[since, until)``."""
    if until <= since:
        raise InvalidInput("the end of the range must come after its start")
    async with rt.db.transaction() as session:
        endpoint = await _active(session, endpoint_id)
        found = await session.execute(
            sa.select(WebhookEvent)
            .where(
                WebhookEvent.created_at >= since,
                WebhookEvent.created_at < until,
                WebhookEvent.type.in_(list(endpoint.event_types)),
            )
            .order_by(WebhookEvent.created_at, WebhookEvent.id)
            .limit(MAX_REPLAY + 1)
        )
        events = list(found.scalars())
        if len(events) > MAX_REPLAY:
            raise InvalidInput(f"more than {MAX_REPLAY} events in that range; take a shorter one")
        count = await emit.send_again(session, endpoint, events, now=rt.clock.now())
        _audit(rt, session, endpoint.id, "sent_again", actor, f"{count} events {since}..{until}")
    rt.wake_worker()
    return count


async def _active(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await _get(session, endpoint_id)
    if not endpoint.is_active:
        raise ActionRefused(
            f"webhook endpoint {endpoint_id} is disabled; enable it before sending again"
        )
    return endpoint
