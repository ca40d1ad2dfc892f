"""The current-API provider through the real app, database and webhook pipeline (v1/provider.py).

The provider talks to the v1 simulator over loopback with the real httpx client; the
notifications are the simulator's own JSON bodies, posted to the app as CinetPay posts them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable

import httpx
import pytest
import sqlalchemy as sa
from gated_delivery_cinetpay import CinetPayV1, LoginRefused
from gated_delivery_cinetpay.v1.provider import TOKEN_HASH
from pydantic import SecretStr

from gated_delivery import job_kinds
from gated_delivery.models import Asset, AuditEvent, Job, Notification, Order, PaymentAttempt
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.plugin_types import AttemptView, PaymentRequest, ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, FulfilmentState, PaymentStatus
from gated_delivery.testing import FrozenClock

from ..conftest import V1_API_PASSWORD, V1Control, V1Server, make_v1_config
from ..helpers import Wire, count, deliveries, post, rejections, rows, start, states

RunJobs = Callable[[], Awaitable[int]]
S = ReportedStatus


async def new_order(rt: Runtime, email: str = "binta@example.org") -> Order:
    async with rt.db.transaction() as session:
        return await create_order(
            session,
            product_slug="guide",
            tier_id="std",
            buyer_email=email,
            buyer_name="Binta Diallo",
            now=rt.clock.now(),
        )


def with_token(wire: Wire, notify_token: str | None) -> Wire:
    """The notification with its notify_token replaced (None: removed)."""
    body, headers, query = wire
    fields = json.loads(body)
    if notify_token is None:
        del fields["notify_token"]
    else:
        fields["notify_token"] = notify_token
    return json.dumps(fields).encode(), headers, query


def token_of(server: V1Server, attempt: AttemptView) -> str:
    return server.simulator.transactions[attempt.attempt_id].notify_token


async def verify_jobs(rt: Runtime, order: Order) -> int:
    query = rows(Job).where(Job.order_id == order.id, Job.kind == job_kinds.VERIFY)
    return await count(rt, query)


# --- notifications that must be refused ------------------------------------------------


@pytest.mark.parametrize("case", ["forged", "missing", "unknown-payment"])
async def test_a_bad_notify_token_is_400_and_queues_nothing(
    case: str,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    wire = await gd_provider_control.notification(attempt)
    if case == "forged":
        wire = gd_provider_control.forge(wire)
    elif case == "missing":
        wire = with_token(wire, None)
    else:
        body = json.loads(wire[0]) | {"merchant_transaction_id": "NoSuchAttempt0000000000"}
        wire = (json.dumps(body).encode(), wire[1], wire[2])
    response = await post(gd_client, wire)
    assert response.status_code == 400
    assert await verify_jobs(gd_runtime, gd_order) == 0
    assert await count(gd_runtime, rows(Notification)) == 0
    assert await count(gd_runtime, rejections()) == 1
    assert await gd_run_jobs() == 0
    assert (await states(gd_runtime, gd_order))[:2] == (AttemptState.PENDING, PaymentStatus.PENDING)


async def test_a_token_of_another_order_is_refused(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    v1_server: V1Server,
    gd_run_jobs: RunJobs,
) -> None:
    other_order = await new_order(gd_runtime)
    mine = await start(gd_client, gd_runtime, gd_order)
    other = await start(gd_client, gd_runtime, other_order)
    await gd_provider_control.settle(other, S.SUCCEEDED)
    # an attacker who paid (or saw) the other order's notification tries it on ours
    wire = with_token(await gd_provider_control.notification(mine), token_of(v1_server, other))
    assert (await post(gd_client, wire)).status_code == 400
    assert await verify_jobs(gd_runtime, gd_order) == 0
    assert await gd_run_jobs() == 0
    assert (await states(gd_runtime, gd_order))[1] is PaymentStatus.PENDING


async def test_a_replayed_token_of_an_earlier_attempt_is_refused(
    gd_clock: FrozenClock,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    v1_server: V1Server,
    gd_run_jobs: RunJobs,
) -> None:
    first = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(first, S.FAILED)
    assert (await post(gd_client, await gd_provider_control.notification(first))).is_success
    await gd_run_jobs()
    assert (await states(gd_runtime, gd_order))[1] is PaymentStatus.FAILED
    gd_clock.advance(minutes=1)
    retry = await start(gd_client, gd_runtime, gd_order)  # the buyer tries again
    assert retry.attempt_id != first.attempt_id
    jobs_before = await verify_jobs(gd_runtime, gd_order)
    replayed = with_token(await gd_provider_control.notification(retry), token_of(v1_server, first))
    assert (await post(gd_client, replayed)).status_code == 400
    assert await verify_jobs(gd_runtime, gd_order) == jobs_before
    assert (await states(gd_runtime, gd_order))[:2] == (AttemptState.PENDING, PaymentStatus.PENDING)


async def test_the_same_authentic_notification_again_queues_no_second_check(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    wire = await gd_provider_control.notification(attempt)
    assert (await post(gd_client, wire)).text == "ok"
    await gd_run_jobs()
    assert (await post(gd_client, wire)).text == "ok (duplicate)"
    assert await verify_jobs(gd_runtime, gd_order) == 1


# --- the authentic path ----------------------------------------------------------------


async def test_fifty_concurrent_duplicates_give_one_paid_and_one_delivery(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    gd_run_jobs: RunJobs,
    product_file: Asset,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    wire = await gd_provider_control.notification(attempt)
    answers = await asyncio.gather(*(post(gd_client, wire) for _ in range(50)))
    assert {r.status_code for r in answers} == {200}
    assert [r.text for r in answers].count("ok") == 1
    while await gd_run_jobs():
        pass
    assert await states(gd_runtime, gd_order) == (
        AttemptState.SUCCEEDED,
        PaymentStatus.PAID,
        FulfilmentState.PUBLISHED,
    )
    paid = rows(AuditEvent).where(
        AuditEvent.order_id == gd_order.id, AuditEvent.to_state == PaymentStatus.PAID.value
    )
    assert await count(gd_runtime, paid) == 1
    assert await count(gd_runtime, deliveries(gd_order)) == 1
    fulfil = rows(Job).where(Job.order_id == gd_order.id, Job.kind == job_kinds.FULFIL)
    assert await count(gd_runtime, fulfil) == 1


async def test_the_paid_amount_is_the_one_asked_and_the_audit_says_so(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    await post(gd_client, await gd_provider_control.notification(attempt))
    await gd_run_jobs()
    async with gd_runtime.db.transaction() as session:
        row = await session.get(PaymentAttempt, attempt.attempt_id)
        assert row is not None
        assert (row.confirmed_amount_minor, row.confirmed_currency) == (2500, "XOF")
        events = (
            await session.execute(
                sa.select(AuditEvent).where(
                    AuditEvent.subject_id == attempt.attempt_id,
                    AuditEvent.to_state == AttemptState.SUCCEEDED.value,
                )
            )
        ).scalars()
        (event,) = list(events)
    assert "carries no amount" in json.dumps(event.data)


@pytest.mark.parametrize(
    ("code", "state", "words"),
    [
        ("2005", AttemptState.FAILED, "INSUFFICIENT_BALANCE"),
        ("2010", AttemptState.FAILED, "FAILED"),
    ],
)
async def test_a_failure_code_fails_with_cinetpays_status_as_reason(
    code: str,
    state: AttemptState,
    words: str,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.FAILED, code=code)
    await post(gd_client, await gd_provider_control.notification(attempt))
    await gd_run_jobs()
    failed = AttemptState.FAILED
    assert (await states(gd_runtime, gd_order))[:2] == (failed, PaymentStatus.FAILED)
    async with gd_runtime.db.transaction() as session:
        reasons = (
            await session.execute(
                sa.select(AuditEvent.reason).where(AuditEvent.to_state == failed.value)
            )
        ).scalars()
        assert any(f"{code} {words}" in reason for reason in reasons)


async def test_a_pending_payment_stays_pending(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.PENDING)
    await post(gd_client, await gd_provider_control.notification(attempt))
    await gd_run_jobs()
    assert (await states(gd_runtime, gd_order))[:2] == (AttemptState.PENDING, PaymentStatus.PENDING)


# --- what is sent and kept ---------------------------------------------------------------


async def test_start_sends_the_sdk_fields_and_keeps_only_a_hash_of_the_notify_token(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    v1_server: V1Server,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    attempt = await start(gd_client, gd_runtime, gd_order)
    tx = v1_server.simulator.transactions[attempt.attempt_id]
    assert (tx.amount, tx.currency, tx.client_email) == (2500, "XOF", gd_order.buyer_email)
    assert tx.notify_url.endswith(f"/payments/cinetpay/notify?order={gd_order.id}")
    data = attempt.provider_data
    assert data["transaction_id"] == tx.transaction_id
    assert data["merchant_transaction_id"] == attempt.attempt_id
    assert tx.notify_token not in json.dumps(dict(data))
    assert len(str(data[TOKEN_HASH])) == 64
    assert tx.notify_token not in caplog.text
    staff_view = await gd_client.get(f"/orders/{gd_order.id}/status")
    assert tx.notify_token not in staff_view.text


async def test_a_one_letter_name_is_refused_before_cinetpay_is_called(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_product: object, v1_server: V1Server
) -> None:
    async with gd_runtime.db.transaction() as session:
        order = await create_order(
            session,
            product_slug="guide",
            tier_id="std",
            buyer_email="a@example.org",
            buyer_name="A",
            now=gd_runtime.clock.now(),
        )
    known = len(v1_server.simulator.transactions)
    response = await gd_client.post(f"/checkout/{order.id}/cinetpay")
    assert response.status_code == 422
    assert "at least two letters" in response.json()["error"]
    assert len(v1_server.simulator.transactions) == known


# --- the Bearer token ----------------------------------------------------------------------


async def test_token_expiry_mid_run_logs_in_again_exactly_once(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    gd_run_jobs: RunJobs,
) -> None:
    logins = gd_provider_control.counters()["logins"]
    attempt = await start(gd_client, gd_runtime, gd_order)
    assert gd_provider_control.counters()["logins"] == logins + 1
    gd_provider_control.misbehave(expire_tokens="1")
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    await post(gd_client, await gd_provider_control.notification(attempt))
    await gd_run_jobs()  # the check meets EXPIRED_TOKEN, logs in once, and reads the status
    assert (await states(gd_runtime, gd_order))[1] is PaymentStatus.PAID
    assert gd_provider_control.counters()["logins"] == logins + 2
    gd_provider_control.misbehave(expire_tokens="1")
    await start(gd_client, gd_runtime, await new_order(gd_runtime))  # the next start: once
    assert gd_provider_control.counters()["logins"] == logins + 3
    await start(gd_client, gd_runtime, await new_order(gd_runtime))  # and then the cache
    assert gd_provider_control.counters()["logins"] == logins + 3


async def test_concurrent_starts_share_one_login(
    gd_runtime: Runtime, gd_product: object, v1_provider: CinetPayV1, gd_provider_control: V1Control
) -> None:
    logins = gd_provider_control.counters()["logins"]
    requests = [
        PaymentRequest(
            attempt_id=secrets.token_hex(11),
            order_id="order",
            amount=Money(2500, "XOF"),
            description="Guide",
            buyer_name="Awa Ndiaye",
            buyer_email="awa@example.org",
            return_url="http://testserver/payments/cinetpay/return?order=o",
            notify_url="http://testserver/payments/cinetpay/notify?order=o",
            cancel_url="http://testserver/payments/cinetpay/return?order=o&cancelled=1",
        )
        for n in range(12)
    ]
    started = await asyncio.gather(*(v1_provider.start_payment(r) for r in requests))
    assert len({s.redirect_url for s in started}) == 12
    assert gd_provider_control.counters()["logins"] == logins + 1


async def test_a_token_refused_twice_is_not_renewed_in_a_loop(
    v1_server: V1Server, gd_provider_control: V1Control
) -> None:
    # every token the simulator issues is born expired: one renewal, then the answer stands
    gd_provider_control.misbehave(token_lifetime="0")
    provider = CinetPayV1(make_v1_config(v1_server.api_url), check_retry_delays=())
    logins = gd_provider_control.counters()["logins"]
    requests = gd_provider_control.counters()["status_requests"]
    answer = await provider.api.status("AnyPayment")
    assert answer["status"] == "EXPIRED_TOKEN"
    assert gd_provider_control.counters()["logins"] == logins + 2
    assert gd_provider_control.counters()["status_requests"] == requests + 2


async def test_wrong_credentials_stop_with_a_message_that_holds_no_secret(
    v1_server: V1Server,
) -> None:
    provider = CinetPayV1(
        make_v1_config(v1_server.api_url, api_password=SecretStr("wrong-password-123"))
    )
    with pytest.raises(LoginRefused) as refused:
        await provider.api.status("AnyPayment")
    assert refused.value.code == "1005"
    assert "CINETPAY_API_PASSWORD" in str(refused.value)
    assert "wrong-password-123" not in str(refused.value)
    assert V1_API_PASSWORD not in str(refused.value)
