"""The CinetPay provider through the real app, database and webhook pipeline (provider.py).

Named after the cases the requirements list for the CinetPay integration. The provider talks
to the simulator over loopback with the real httpx client; notifications are the simulator's
own, posted to the app as CinetPay would post them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import sqlalchemy as sa
from gated_delivery_cinetpay import CinetPay, xtoken
from pydantic import SecretStr

from gated_delivery import job_kinds
from gated_delivery.models import (
    Asset,
    AuditEvent,
    Job,
    JobState,
    Notification,
    Order,
    PaymentAttempt,
)
from gated_delivery.money import Money
from gated_delivery.plugin_types import ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, FulfilmentState, PaymentStatus
from gated_delivery.testing import FrozenClock
from gated_delivery.web.app import create_app

from .conftest import SECRET_KEY, CinetPayControl, SimulatorServer, make_config
from .helpers import Wire, count, deliveries, post, rejections, rows, start, states

RunJobs = Callable[[], Awaitable[int]]
S = ReportedStatus


# --- helpers -----------------------------------------------------------------------------


def resign(wire: Wire, **changes: str) -> Wire:
    """The notification with some fields changed and a *valid* x-token for the result."""
    body, headers, query = wire
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True)) | changes
    signed = {**headers, "x-token": xtoken.x_token(SECRET_KEY, fields)}
    return urlencode(list(fields.items())).encode(), signed, query


# --- the cases named in the requirements --------------------------------------------------


async def test_no_signature_is_400(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: CinetPayControl,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    body, headers, query = await gd_provider_control.notification(attempt)
    del headers["x-token"]
    response = await post(gd_client, (body, headers, query))
    assert response.status_code == 400
    assert "missing x-token" in response.text
    assert await count(gd_runtime, rejections()) == 1
    assert await count(gd_runtime, rows(Notification)) == 0
    assert await gd_run_jobs() == 0
    assert await states(gd_runtime, gd_order) == (
        AttemptState.PENDING,
        PaymentStatus.PENDING,
        FulfilmentState.RECEIVED,
    )


async def test_bad_signature_is_400(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: CinetPayControl,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    body, headers, query = await gd_provider_control.notification(attempt)
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    forged: dict[str, Wire] = {
        "signed with another key": (
            body,
            {**headers, "x-token": xtoken.x_token("another-merchant-secret", fields)},
            query,
        ),
        "amount changed after signing": gd_provider_control.forge((body, headers, query)),
        # PHP's hash_hmac gives lowercase hex; anything else is not what CinetPay sends
        "uppercase hex": (body, {**headers, "x-token": headers["x-token"].upper()}, query),
        "empty header": (body, {**headers, "x-token": ""}, query),
    }
    for number, (label, wire) in enumerate(forged.items(), start=1):
        response = await post(gd_client, wire)
        assert response.status_code == 400, label
        assert await count(gd_runtime, rejections()) == number, label
    assert await count(gd_runtime, rows(Notification)) == 0
    assert await gd_run_jobs() == 0
    assert (await states(gd_runtime, gd_order))[1] is PaymentStatus.PENDING


async def test_check_not_accepted_is_failed_and_nothing_is_delivered(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: CinetPayControl,
    gd_run_jobs: RunJobs,
    product_file: Asset,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.FAILED)
    assert (await post(gd_client, await gd_provider_control.notification(attempt))).is_success
    await gd_run_jobs()
    assert await states(gd_runtime, gd_order) == (
        AttemptState.FAILED,
        PaymentStatus.FAILED,
        FulfilmentState.RECEIVED,
    )
    assert await count(gd_runtime, deliveries(gd_order)) == 0
    fulfil_jobs = rows(Job).where(Job.order_id == gd_order.id, Job.kind == job_kinds.FULFIL)
    assert await count(gd_runtime, fulfil_jobs) == 0
    status = (await gd_client.get(f"/orders/{gd_order.id}/status")).json()
    assert (status["paid"], status["downloadable"]) == (False, False)


async def test_check_ok_is_paid_and_delivered(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: CinetPayControl,
    gd_run_jobs: RunJobs,
    product_file: Asset,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    assert (await post(gd_client, await gd_provider_control.notification(attempt))).is_success
    await gd_run_jobs()
    assert await states(gd_runtime, gd_order) == (
        AttemptState.SUCCEEDED,
        PaymentStatus.PAID,
        FulfilmentState.PUBLISHED,
    )
    assert await count(gd_runtime, deliveries(gd_order)) == 1
    async with gd_runtime.db.transaction() as session:
        row = await session.get(PaymentAttempt, attempt.attempt_id)
        assert row is not None
        assert (row.confirmed_amount_minor, row.confirmed_currency) == (2500, "XOF")
    status = (await gd_client.get(f"/orders/{gd_order.id}/status")).json()
    assert status["paid"] is True


async def test_same_notification_twice_is_idempotent_with_one_delivery(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: CinetPayControl,
    gd_run_jobs: RunJobs,
    product_file: Asset,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    wire = await gd_provider_control.notification(attempt)
    first, second = await post(gd_client, wire), await post(gd_client, wire)
    assert (first.status_code, first.text) == (200, "ok")
    assert (second.status_code, second.text) == (200, "ok (duplicate)")
    await gd_run_jobs()
    # and once more after it was paid: CinetPay "may call several times"
    assert (await post(gd_client, wire)).text == "ok (duplicate)"
    await gd_run_jobs()
    assert await count(gd_runtime, rows(Notification)) == 1
    assert await count(gd_runtime, deliveries(gd_order)) == 1
    paid = rows(AuditEvent).where(
        AuditEvent.order_id == gd_order.id, AuditEvent.to_state == PaymentStatus.PAID.value
    )
    assert await count(gd_runtime, paid) == 1


async def test_amount_mismatch_goes_to_review(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: CinetPayControl,
    gd_run_jobs: RunJobs,
    product_file: Asset,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED, amount=Money(2000, "XOF"))
    await post(gd_client, await gd_provider_control.notification(attempt))
    await gd_run_jobs()
    assert await states(gd_runtime, gd_order) == (
        AttemptState.REVIEW,
        PaymentStatus.REVIEW,
        FulfilmentState.RECEIVED,
    )
    assert await count(gd_runtime, deliveries(gd_order)) == 0
    reason = sa.select(AuditEvent.reason).where(AuditEvent.to_state == "review")
    async with gd_runtime.db.transaction() as session:
        assert (await session.execute(reason)).scalars().first() == (
            "provider confirmed 2000 XOF, the order is 2500 XOF"
        )


async def test_provider_down_during_check_is_retried_and_not_paid(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_clock: FrozenClock,
    gd_provider_control: CinetPayControl,
    gd_run_jobs: RunJobs,
    cinetpay_server: SimulatorServer,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    before = gd_provider_control.misbehave(check_errors="3")["checks"]
    await post(gd_client, await gd_provider_control.notification(attempt))
    await gd_run_jobs()
    # one job run asked three times (two quick retries), then left it to the job's backoff
    assert gd_provider_control.misbehave()["checks"] - before == 3
    assert (await states(gd_runtime, gd_order))[:2] == (
        AttemptState.PENDING,
        PaymentStatus.PENDING,
    )
    async with gd_runtime.db.transaction() as session:
        job = (
            await session.execute(sa.select(Job).where(Job.order_id == gd_order.id))
        ).scalar_one()
    assert job.state is JobState.PENDING
    assert "CinetPayUnavailable" in job.last_error
    assert "503" in job.last_error
    gd_clock.advance(minutes=15)  # past the job's backoff; CinetPay answers again
    await gd_run_jobs()
    assert (await states(gd_runtime, gd_order))[:2] == (
        AttemptState.SUCCEEDED,
        PaymentStatus.PAID,
    )


async def test_notification_before_the_check_says_accepted_is_checked_again(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_clock: FrozenClock,
    gd_provider_control: CinetPayControl,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED, check_lag="1")
    await post(gd_client, await gd_provider_control.notification(attempt))
    await gd_run_jobs()
    assert (await states(gd_runtime, gd_order))[1] is PaymentStatus.PENDING
    async with gd_runtime.db.transaction() as session:
        job = (
            await session.execute(sa.select(Job).where(Job.order_id == gd_order.id))
        ).scalar_one()
    assert job.state is JobState.PENDING  # re-checked with backoff
    assert "pending" in job.last_error
    gd_clock.advance(minutes=1)
    await gd_run_jobs()
    assert (await states(gd_runtime, gd_order))[1] is PaymentStatus.PAID


# --- start, return page, and what else the notification must satisfy ----------------------


async def test_start_sends_the_documented_fields_and_redirects_to_payment_url(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    cinetpay_server: SimulatorServer,
) -> None:
    response = await gd_client.post(f"/checkout/{gd_order.id}/cinetpay")
    assert response.status_code == 303
    attempt = await start(gd_client, gd_runtime, gd_order)  # a second attempt: a new id
    tx = cinetpay_server.simulator.transactions[attempt.provider_data["transaction_id"]]
    assert tx.amount == 2500
    assert tx.currency == "XOF"
    assert tx.channels == "ALL"
    assert tx.metadata == gd_order.id
    assert tx.notify_url == f"http://testserver/payments/cinetpay/notify?order={gd_order.id}"
    assert tx.return_url == f"http://testserver/payments/cinetpay/return?order={gd_order.id}"
    assert response.headers["location"].startswith(cinetpay_server.api_url + "/payment/")
    assert attempt.provider_ref == attempt.provider_data["payment_token"]
    assert len(attempt.provider_data["transaction_id"]) <= 25


async def test_start_refused_by_cinetpay_is_a_try_again_page_and_a_failed_attempt(
    gd_runtime: Runtime,
    gd_order: Order,
    cinetpay_server: SimulatorServer,
) -> None:
    wrong_key = CinetPay(make_config(cinetpay_server.api_url, api_key=SecretStr("not-the-key-123")))
    gd_runtime.providers["cinetpay"] = wrong_key
    app = create_app(runtime=gd_runtime, run_worker=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            f"/checkout/{gd_order.id}/cinetpay", headers={"accept": "text/html"}
        )
    assert response.status_code == 502
    assert "try again or use another payment method" in response.text
    assert "Traceback" not in response.text
    assert "not-the-key-123" not in response.text
    reason = sa.select(AuditEvent.reason).where(AuditEvent.to_state == "failed")
    async with gd_runtime.db.transaction() as session:
        assert (await session.execute(reason)).scalar_one() == (
            "start refused: 609: AUTH_NOT_FOUND bad apikey"
        )


async def test_return_post_from_cinetpay_only_shows_the_status(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    response = await gd_client.post(
        f"/payments/cinetpay/return?order={gd_order.id}",
        data={
            "transaction_id": attempt.provider_data["transaction_id"],
            "token": attempt.provider_data["payment_token"],
            "status": "ACCEPTED",
        },
    )
    assert response.status_code == 200
    await gd_run_jobs()  # it queued a check, and the check says CinetPay is still waiting
    assert (await states(gd_runtime, gd_order))[1] is PaymentStatus.PENDING


async def test_a_notification_for_another_site_is_refused(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: CinetPayControl,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    wire = resign(await gd_provider_control.notification(attempt), cpm_site_id="999999")
    response = await post(gd_client, wire)
    assert response.status_code == 400
    assert "another CinetPay site id" in response.text
    assert await count(gd_runtime, rows(Notification)) == 0


async def test_the_stored_notification_hides_the_token_and_the_phone(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: CinetPayControl,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    wire = await gd_provider_control.notification(attempt)
    sent = dict(parse_qsl(wire[0].decode()))
    assert (await post(gd_client, wire)).status_code == 200
    async with gd_runtime.db.transaction() as session:
        stored = (await session.execute(sa.select(Notification.body_redacted))).scalar_one()
    kept = dict(parse_qsl(stored))
    assert kept["signature"] == "[redacted]"
    assert sent["signature"] not in stored
    assert kept["cel_phone_num"] == "********07"
    assert kept["cpm_trans_id"] == sent["cpm_trans_id"]


async def test_a_new_status_for_the_same_transaction_is_a_new_notification(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: CinetPayControl,
    gd_clock: FrozenClock,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    waiting = await gd_provider_control.notification(attempt)
    assert (await post(gd_client, waiting)).text == "ok"
    await gd_run_jobs()
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    assert (await post(gd_client, await gd_provider_control.notification(attempt))).text == "ok"
    gd_clock.advance(minutes=1)
    await gd_run_jobs()
    assert await count(gd_runtime, rows(Notification)) == 2
    assert (await states(gd_runtime, gd_order))[1] is PaymentStatus.PAID


async def test_cinetpays_get_ping_is_answered(gd_client: httpx.AsyncClient) -> None:
    response = await gd_client.get("/payments/cinetpay/notify")
    assert (response.status_code, response.text) == (200, "ok")


# --- notifications as JSON, card payments ------------------------------------------------


def as_json(wire: Wire) -> Wire:
    """The same notification fields, in the same order, as a JSON object; the same x-token."""
    body, headers, query = wire
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    return json.dumps(fields).encode(), {**headers, "content-type": "application/json"}, query


async def test_a_notification_as_json_and_one_as_form_fields_both_verify(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: CinetPayControl,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    form = await gd_provider_control.notification(attempt)  # pending: WAITING_FOR_CUSTOMER
    assert (await post(gd_client, form)).text == "ok"
    await gd_provider_control.settle(attempt, S.SUCCEEDED)
    answer = await post(gd_client, as_json(await gd_provider_control.notification(attempt)))
    assert answer.text == "ok"
    await gd_run_jobs()
    assert (await states(gd_runtime, gd_order))[1] is PaymentStatus.PAID


@pytest.mark.parametrize(
    "body",
    [
        b'{"cpm_site_id": 445160, "cpm_trans_id": "x"}',  # a number, not the posted text
        b'[["cpm_site_id", "445160"]]',  # not an object
        b'{"cpm_site_id": "445160", "cpm_site_id": "445161"}',  # a field twice
    ],
)
async def test_a_json_notification_that_is_not_an_object_of_strings_is_400(
    gd_client: httpx.AsyncClient, body: bytes
) -> None:
    headers = {"content-type": "application/json", "x-token": "0" * 64}
    response = await gd_client.post("/payments/cinetpay/notify", content=body, headers=headers)
    assert response.status_code == 400
