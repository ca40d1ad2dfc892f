"""Wave's webhooks through the real app and pipeline, on SQLite and PostgreSQL: a forged,
stale, replayed or cross-session one is 400, audited, and queues nothing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest
import sqlalchemy as sa
from gated_delivery_wave import signature
from gated_delivery_wave.testing import WaveControl, wire

from gated_delivery.models import AuditEvent, Job, Notification, Order
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus
from gated_delivery.testing import FrozenClock

from .conftest import WEBHOOK_SECRET
from .helpers import NOTIFY, checkout, count, states

RunJobs = Callable[[], Awaitable[int]]
Wire = tuple[bytes, dict[str, str], dict[str, str]]


def resigned(body: bytes, at: float, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """Headers signing ``body`` at ``at`` with ``secret``."""
    header = signature.sign(secret.encode(), int(at), body)
    return {"content-type": "application/json", "wave-signature": header}


def edited(body: bytes, **data: str) -> bytes:
    event = json.loads(body)
    event["data"].update(data)
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    "attack",
    [
        "body_changed",
        "unsigned",
        "wrong_secret",
        "stale",
        "replayed_later",
        "old_signature_new_time",
        "cross_session",
    ],
)
async def test_bad_webhook_is_400_audited_and_changes_nothing(
    attack: str,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_clock: FrozenClock,
    gd_provider_control: WaveControl,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    other = await checkout(gd_client, gd_runtime, gd_order)
    control = gd_provider_control
    control.control(f"/{attempt.provider_data['session_id']}", outcome="succeeded", notify="0")
    body, headers, _ = wire(control.simulator.notice(attempt.provider_data["session_id"]))
    now = gd_clock.now().timestamp()
    if attack == "body_changed":
        body = edited(body, amount="1")
    elif attack == "unsigned":
        headers.pop("wave-signature")
    elif attack == "wrong_secret":
        headers = resigned(body, now, secret="wave_sn_WHS_someone_else_0000000000")
    elif attack == "stale":
        headers = resigned(body, now - 301)
    elif attack == "replayed_later":
        gd_clock.advance(minutes=6)  # the authentic webhook, captured and sent again later
    elif attack == "old_signature_new_time":
        old = headers["wave-signature"].split(",")[1]
        headers["wave-signature"] = f"t={int(now) + 360},{old}"
        gd_clock.advance(minutes=6)
    else:  # an authentic event whose session is not the one opened for the payment named
        body = edited(body, client_reference=other.id)
        headers = resigned(body, now)
    response = await gd_client.post(NOTIFY, content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert WEBHOOK_SECRET not in response.text
    assert await count(gd_runtime, Notification) == 0
    assert await count(gd_runtime, Job) == 0
    assert await gd_run_jobs() == 0
    for attempt_id in (attempt.id, other.id):
        assert await states(gd_runtime, attempt_id) == (
            AttemptState.PENDING,
            PaymentStatus.PENDING,
        )
    rejected = await count(
        gd_runtime, AuditEvent, AuditEvent.machine == "webhook", AuditEvent.event == "rejected"
    )
    assert rejected == 1


async def test_duplicates_of_one_event_are_stored_once_and_queue_one_check(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: WaveControl,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    session_id = attempt.provider_data["session_id"]
    gd_provider_control.control(f"/{session_id}", outcome="succeeded", notify="0")
    body, headers, _ = wire(gd_provider_control.simulator.notice(session_id))
    answers = [(await gd_client.post(NOTIFY, content=body, headers=headers)).text for _ in "abc"]
    assert answers == ["ok", "ok (duplicate)", "ok (duplicate)"]
    assert await count(gd_runtime, Notification) == 1
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == (AttemptState.SUCCEEDED, PaymentStatus.PAID)
    async with gd_runtime.db.transaction() as session:
        stored = json.loads(
            (await session.execute(sa.select(Notification.body_redacted))).scalar_one()
        )
    assert stored["type"] == "checkout.session.completed"
    assert stored["data"]["wave_id"] == session_id
    assert "restrict_payer_mobile" not in json.dumps(stored)


@pytest.mark.parametrize("kind", ["test_event", "b2b", "not_our_reference"])
async def test_events_that_are_not_ours_get_200_and_queue_nothing(
    kind: str,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_clock: FrozenClock,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    event: dict[str, object] = {"id": f"EV_{kind}", "type": "test.test_event", "data": {}}
    if kind == "b2b":
        event.update(type="b2b.payment_received", data={"id": "pt-1", "amount": "100"})
    elif kind == "not_our_reference":
        event.update(
            type="checkout.session.completed",
            data={"id": "cos-elsewhere", "client_reference": "a-point-of-sale-order"},
        )
    body = json.dumps(event).encode()
    response = await gd_client.post(
        NOTIFY, content=body, headers=resigned(body, gd_clock.now().timestamp())
    )
    assert response.status_code == 200, response.text
    assert await count(gd_runtime, Notification, Notification.attempt_id.is_(None)) == 1
    assert await gd_run_jobs() == 0
    assert await states(gd_runtime, attempt.id) == (AttemptState.PENDING, PaymentStatus.PENDING)


async def test_a_signed_body_that_is_not_an_event_is_refused(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    body = b'["not", "an", "event"]'
    response = await gd_client.post(
        NOTIFY, content=body, headers=resigned(body, gd_clock.now().timestamp())
    )
    assert response.status_code == 400
    assert "not a Wave event" in response.text
    assert await count(gd_runtime, Notification) == 0
