"""Delivering one event to one endpoint: the ``webhook`` outbox job.

Each try is written to the delivery log. A 2xx answer is success; 5xx, 429, a timeout or no
connection is tried again on the schedule of ``emit.RETRY_DELAYS_SECONDS``; any other answer
is final.

An endpoint is disabled, and the staff mailed, when it accepted nothing for ``DISABLE_AFTER``
(five days). That is seen at two moments: when an event's last scheduled try fails (the
receiver was down for the whole schedule, about 27 hours) and no delivery to the endpoint
succeeded in the last five days (``give_up``); and at any failed try five days into a
streak of failures with no success between (``_track_health``), which also catches a
receiver answering 4xx to everything, whose events are never retried.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import certifi
import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import __version__, audit_names, job_kinds
from gated_delivery.errors import DestinationRefused, GiveUp
from gated_delivery.jobspec import enqueue
from gated_delivery.models import Order, WebhookAttempt, WebhookEndpoint, WebhookEvent
from gated_delivery.runtime import Runtime
from gated_delivery.transitions import audit
from gated_delivery.webhooks import destinations, signing
from gated_delivery.webhooks.emit import MAX_TRIES

DISABLE_AFTER: Final = timedelta(days=5)
RESPONSE_HEAD_BYTES: Final = 200
MACHINE: Final = audit_names.WEBHOOK_ENDPOINT


class DeliveryFailed(Exception):
    """A try failed in a way worth trying again (the outbox schedules the next one)."""


@dataclass(frozen=True)
class Outcome:
    """What one try came to."""

    status_code: int | None
    duration_ms: int
    response_head: str = ""
    error: str = ""
    #: the address was refused before anything was sent: trying again changes nothing
    is_refused: bool = False

    @property
    def is_success(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def is_retryable(self) -> bool:
        """No answer, 5xx or 429: the receiver may do better later."""
        code = self.status_code
        if code is None:
            return not self.is_refused
        return code >= 500 or code == 429


def body(event: WebhookEvent, order: Order | None, *, include_buyer: bool) -> bytes:
    """The JSON body of an event: ``type``, ``timestamp``, ``data`` (Standard Webhooks)."""
    data: dict[str, Any] = dict(event.data)
    if include_buyer and order is not None:
        data["buyer"] = {"name": order.buyer_name, "email": order.buyer_email}
    payload = {
        "id": event.id,
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def live_secrets(box: signing.SecretBox, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The endpoint's secret, and its previous one while the rotation's grace period runs."""
    found = [box.open(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and now < expires:
        found.append(box.open(endpoint.previous_secret_encrypted))
    return found


async def deliver(rt: Runtime, payload: job_kinds.DeliveryPayload) -> None:
    """The ``webhook`` job: sign and post one event to one endpoint, and log the try."""
    endpoint_id, event_id = str(payload["endpoint_id"]), str(payload["event_id"])
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        event = await session.get(WebhookEvent, event_id)
        if endpoint is None or event is None:
            return  # removed meanwhile: nothing left to deliver to
        if not endpoint.is_active:
            await _log(session, endpoint, event, now, Outcome(None, 0, error="endpoint disabled"))
            return
        order = await session.get(Order, event.order_id) if event.order_id else None
        content = body(event, order, include_buyer=endpoint.include_buyer)
        signed = signing.headers(
            live_secrets(signing.SecretBox(rt.settings.secret), endpoint, now),
            event.id,
            int(now.timestamp()),
            content,
        )
        url = endpoint.url
    outcome = await post(rt, url, content, signed)
    async with rt.db.transaction() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
        if endpoint is None:
            return
        tries = await _log(session, endpoint, event, now, outcome)
        await _track_health(rt, session, endpoint, outcome, now)
    if outcome.is_success:
        return
    what = f"HTTP {outcome.status_code}" if outcome.status_code else outcome.error
    if outcome.is_retryable:
        raise DeliveryFailed(f"try {tries} of event {event_id}: {what}")
    raise GiveUp(f"try {tries} of event {event_id}: {what}; not tried again")


@functools.cache
def default_tls() -> ssl.SSLContext:
    """The certificates httpx trusts (certifi's), loaded once: loading costs more than a post."""
    return ssl.create_default_context(cafile=certifi.where())


async def post(
    rt: Runtime,
    url: str,
    content: bytes,
    signed: dict[str, str],
    *,
    resolver: destinations.Resolver = destinations.system_resolver,
    tls: ssl.SSLContext | None = None,
) -> Outcome:
    """Check the destination now (after DNS), post, and read the first bytes of the answer.

    ``resolver`` and ``tls`` (the certificates trusted; default: the system's) are for tests.
    """
    timeout = rt.settings.webhooks_timeout_seconds
    started = time.monotonic()

    def outcome(status: int | None, head: str = "", error: str = "", **more: bool) -> Outcome:
        return Outcome(status, int((time.monotonic() - started) * 1000), head, error[:500], **more)

    try:
        target = await destinations.resolve(
            url,
            allow_private=rt.settings.webhooks_allow_private,
            allow_http=rt.settings.sandbox,
            resolver=resolver,
        )
    except DestinationRefused as exc:
        return outcome(None, error=f"refused: {exc}", is_refused=True)
    except OSError as exc:  # socket.gaierror: the name does not resolve (perhaps for now)
        return outcome(None, error=f"the host name did not resolve: {type(exc).__name__}")
    headers = {
        **signed,
        "host": target.host_header,
        "content-type": "application/json",
        "user-agent": f"gated-delivery/{__version__} (webhooks)",
    }
    extensions = {"sni_hostname": target.host} if target.connect_url.scheme == "https" else {}
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(
                timeout=timeout,
                follow_redirects=False,
                trust_env=False,
                verify=tls or default_tls(),
            ) as client,
        ):
            request = client.build_request(
                "POST", target.connect_url, content=content, headers=headers, extensions=extensions
            )
            response = await client.send(request, stream=True)
            try:
                head = await _head(response)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        return outcome(None, error=f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return outcome(None, error=f"{type(exc).__name__}: {str(exc)[:200]}")
    return outcome(response.status_code, head)


async def _head(response: httpx.Response) -> str:
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= RESPONSE_HEAD_BYTES:
            break
    return data[:RESPONSE_HEAD_BYTES].decode("utf-8", errors="replace")


async def _log(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    event: WebhookEvent,
    at: datetime,
    outcome: Outcome,
) -> int:
    """Write one line of the delivery log; returns its try number for this event here."""
    before = await session.execute(
        sa.select(sa.func.count())
        .select_from(WebhookAttempt)
        .where(WebhookAttempt.endpoint_id == endpoint.id, WebhookAttempt.event_id == event.id)
    )
    tries = int(before.scalar_one()) + 1
    session.add(
        WebhookAttempt(
            endpoint_id=endpoint.id,
            event_id=event.id,
            attempt=tries,
            attempted_at=at,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_head=outcome.response_head[:RESPONSE_HEAD_BYTES],
            error=outcome.error,
        )
    )
    return tries


async def _track_health(
    rt: Runtime,
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    outcome: Outcome,
    now: datetime,
) -> None:
    """A success clears the failing streak; five days of failures disable the endpoint."""
    if outcome.is_success:
        endpoint.failing_since = None
        return
    endpoint.failing_since = endpoint.failing_since or now
    if not endpoint.is_active or now - endpoint.failing_since < DISABLE_AFTER:
        return
    await _disable(
        rt,
        session,
        endpoint,
        now,
        f"disabled at {now:%Y-%m-%d %H:%M} UTC: every delivery failed since "
        f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC",
    )


async def give_up(rt: Runtime, payload: job_kinds.DeliveryPayload, error: str) -> None:
    """Called once when a ``webhook`` job ends without success (``jobs.handlers.GIVE_UP``).

    If its last try failed in a way worth retrying, the whole schedule was used up; then,
    unless a delivery to the endpoint succeeded within ``DISABLE_AFTER``, it is disabled.
    A 4xx or a refused address ends the job at once and disables nothing here.
    """
    endpoint_id, event_id = str(payload["endpoint_id"]), str(payload["event_id"])
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
        if endpoint is None or not endpoint.is_active:
            return  # removed, or disabled already (by another event): one notice only
        last = await _last_try(session, endpoint_id, event_id)
        if last is None or not _outcome_of(last).is_retryable:
            return
        succeeded = await _last_success(session, endpoint_id)
        if succeeded is not None and now - succeeded < DISABLE_AFTER:
            return  # the receiver worked lately: one lost event, not a dead endpoint
        since = endpoint.failing_since or last.attempted_at
        await _disable(
            rt,
            session,
            endpoint,
            now,
            f"disabled at {now:%Y-%m-%d %H:%M} UTC: every delivery failed since "
            f"{since:%Y-%m-%d %H:%M} UTC; event {event_id} failed all {MAX_TRIES} "
            "scheduled tries and nothing was accepted in the last "
            f"{DISABLE_AFTER.days} days",
        )


def _outcome_of(line: WebhookAttempt) -> Outcome:
    refused = line.error.startswith(("refused:", "endpoint disabled"))
    return Outcome(line.status_code, line.duration_ms, error=line.error, is_refused=refused)


async def _last_try(
    session: AsyncSession, endpoint_id: str, event_id: str
) -> WebhookAttempt | None:
    found = await session.execute(
        sa.select(WebhookAttempt)
        .where(WebhookAttempt.endpoint_id == endpoint_id, WebhookAttempt.event_id == event_id)
        .order_by(WebhookAttempt.id.desc())
        .limit(1)
    )
    return found.scalar_one_or_none()


async def _last_success(session: AsyncSession, endpoint_id: str) -> datetime | None:
    found = await session.execute(
        sa.select(sa.func.max(WebhookAttempt.attempted_at)).where(
            WebhookAttempt.endpoint_id == endpoint_id,
            WebhookAttempt.status_code >= 200,
            WebhookAttempt.status_code < 300,
        )
    )
    return found.scalar_one_or_none()


async def _disable(
    rt: Runtime, session: AsyncSession, endpoint: WebhookEndpoint, now: datetime, reason: str
) -> None:
    """Disable ``endpoint``, audit it and queue the staff notice, in the caller's transaction."""
    endpoint.is_active = False
    endpoint.disabled_reason = reason
    audit(
        session,
        now=now,
        order_id=None,
        machine=MACHINE,
        subject_id=endpoint.id,
        event="disabled",
        actor="worker",
        reason=reason,
    )
    await enqueue(
        session,
        job_kinds.webhook_notice_job(endpoint.id, when=now.isoformat()),
        now=now,
    )
    rt.wake_worker()
