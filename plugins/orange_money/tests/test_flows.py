"""Orange Money flows through the real app, database and webhook pipeline (both backends)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from gated_delivery_orange_money import OrangeMoney, OrangeMoneySimulator
from gated_delivery_orange_money.testing import CollectingDeliverer, OrangeMoneyControl, wire

from gated_delivery import job_kinds
from gated_delivery.models import AuditEvent, Job, JobState, Notification, Order, PaymentAttempt
from gated_delivery.reconcile import reconcile
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus
from gated_delivery.testing import FrozenClock

from .conftest import CLIENT_ID, CLIENT_SECRET

RunJobs = Callable[[], Awaitable[int]]
PostNotices = Callable[[], Awaitable[list[httpx.Response]]]
NOTIFY = "/payments/orange-money/notify"


async def checkout(client: httpx.AsyncClient, rt: Runtime, order: Order) -> PaymentAttempt:
    response = await client.post(f"/checkout/{order.id}/orange-money")
    assert response.status_code == 303, response.text
    pay_token = response.headers["location"].rsplit("/", 1)[1]
    async with rt.db.transaction() as session:
        attempts = (
            await session.execute(
                sa.select(PaymentAttempt).where(PaymentAttempt.order_id == order.id)
            )
        ).scalars()
        # the frozen clock gives every attempt the same created_at: find ours by its pay token
        return next(a for a in attempts if a.provider_data["pay_token"] == pay_token)


async def states(rt: Runtime, attempt_id: str) -> tuple[AttemptState, PaymentStatus]:
    async with rt.db.transaction() as session:
        attempt = await session.get(PaymentAttempt, attempt_id)
        assert attempt is not None
        order = await session.get(Order, attempt.order_id)
        assert order is not None
        return attempt.state, order.payment_status


async def count(rt: Runtime, model: type, *where: sa.ColumnElement[bool]) -> int:
    async with rt.db.transaction() as session:
        query = sa.select(sa.func.count()).select_from(model).where(*where)
        return int((await session.execute(query)).scalar_one())


async def wait_for_notices(deliverer: CollectingDeliverer, expected: int) -> None:
    # the payment page sends its notification after redirecting, as Orange does; bounded wait
    for _ in range(500):
        if deliverer.pending() >= expected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the simulator sent fewer than {expected} notification(s)")


@pytest.mark.parametrize(
    "tamper",
    ["wrong_token", "token_of_another_payment", "no_attempt", "other_order", "no_token"],
)
async def test_forged_notif_token_is_400_audited_and_changes_nothing(
    tamper: str,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: OrangeMoneyControl,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    other = await checkout(gd_client, gd_runtime, gd_order)
    control = gd_provider_control
    await control.control(f"/{attempt.id}", outcome="SUCCESS", notify="0")
    body, headers, query = wire(control.simulator.notice(attempt.id))
    fields = json.loads(body)
    if tamper == "wrong_token":
        fields["notif_token"] = "f" * len(fields["notif_token"])
    elif tamper == "token_of_another_payment":
        fields["notif_token"] = other.provider_data["notif_token"]
    elif tamper == "no_attempt":
        query.pop("tx")
    elif tamper == "other_order":
        query["tx"] = "no-such-attempt"
    else:
        fields.pop("notif_token")
    response = await gd_client.post(
        NOTIFY, content=json.dumps(fields).encode(), headers=headers, params=query
    )
    assert response.status_code == 400
    assert await count(gd_runtime, Notification) == 0
    assert await gd_run_jobs() == 0
    assert await states(gd_runtime, attempt.id) == (AttemptState.PENDING, PaymentStatus.PENDING)
    rejected = await count(
        gd_runtime, AuditEvent, AuditEvent.machine == "webhook", AuditEvent.event == "rejected"
    )
    assert rejected == 1
    assert fields.get("notif_token", "-") not in response.text


async def test_duplicate_notification_delivers_once(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: OrangeMoneyControl,
    gd_run_jobs: RunJobs,
    om_post_notices: PostNotices,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    sent = await gd_provider_control.control(
        f"/{attempt.id}", outcome="SUCCESS", notify="1", copies="3"
    )
    assert sent.json()["sent"] == 3
    responses = await om_post_notices()
    assert [r.text for r in responses] == ["ok", "ok (duplicate)", "ok (duplicate)"]
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == (AttemptState.SUCCEEDED, PaymentStatus.PAID)
    assert await count(gd_runtime, Notification) == 1
    assert await count(gd_runtime, Job, Job.kind == job_kinds.FULFIL) == 1
    paid = await count(
        gd_runtime,
        AuditEvent,
        AuditEvent.order_id == gd_order.id,
        AuditEvent.to_state == PaymentStatus.PAID.value,
    )
    assert paid == 1
    async with gd_runtime.db.transaction() as session:
        stored = (await session.execute(sa.select(Notification.body_redacted))).scalar_one()
        row = await session.get(PaymentAttempt, attempt.id)
    assert row is not None
    assert attempt.provider_data["notif_token"] not in stored  # the secret is not kept
    assert json.loads(stored)["status"] == "SUCCESS"
    assert row.provider_ref == json.loads(stored)["txnid"]  # Orange's txnid, for support


async def test_buyer_pays_on_the_page_and_the_notification_leads_to_paid(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_run_jobs: RunJobs,
    om_deliverer: CollectingDeliverer,
    om_post_notices: PostNotices,
) -> None:
    response = await gd_client.post(f"/checkout/{gd_order.id}/orange-money")
    payment_url = response.headers["location"]
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(payment_url)
        assert page.status_code == 200
        assert "5000 OUV" in page.text
        back = await browser.post(payment_url, data={"choice": "pay"})
    assert back.status_code == 303
    assert (
        back.headers["location"]
        == f"http://testserver/payments/orange-money/return?order={gd_order.id}"
    )
    await wait_for_notices(om_deliverer, 1)
    assert [r.status_code for r in await om_post_notices()] == [200]
    await gd_run_jobs()
    body = (await gd_client.get(f"/orders/{gd_order.id}/status")).json()
    assert body["payment"] == "paid"


async def pay_on_the_page(control: OrangeMoneyControl, attempt: PaymentAttempt) -> httpx.Response:
    """The buyer presses Payer on the simulator's page for this attempt."""
    payment_url = f"{control.served.base_url}/payment/{attempt.provider_data['pay_token']}"
    async with httpx.AsyncClient(timeout=10) as browser:
        return await browser.post(payment_url, data={"choice": "pay"})


async def wait_for_status(simulator: OrangeMoneySimulator, order_id: str, status: str) -> None:
    # Orange's processing ends on its own after the buyer confirmed; bounded wait
    for _ in range(500):
        if simulator.sessions[order_id].status == status:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the simulator's session never became {status}")


async def test_lost_notification_is_caught_up_by_the_return_page(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: OrangeMoneyControl,
    gd_run_jobs: RunJobs,
    om_simulator: OrangeMoneySimulator,
    om_deliverer: CollectingDeliverer,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    await gd_provider_control.control(notify_copies="0")  # Orange loses the notification
    assert (await pay_on_the_page(gd_provider_control, attempt)).status_code == 303
    await wait_for_status(om_simulator, attempt.id, "SUCCESS")
    assert om_deliverer.take() == []
    await gd_client.get(f"/payments/orange-money/return?order={gd_order.id}")
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == (AttemptState.SUCCEEDED, PaymentStatus.PAID)


async def test_a_check_while_orange_processes_keeps_the_payment_pending(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: OrangeMoneyControl,
    gd_run_jobs: RunJobs,
    om_simulator: OrangeMoneySimulator,
    om_post_notices: PostNotices,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    await gd_provider_control.control(processing_ms="60000")  # ended below, by the test
    assert (await pay_on_the_page(gd_provider_control, attempt)).status_code == 303
    assert om_simulator.sessions[attempt.id].status == "PENDING"
    # the buyer is back on the shop before Orange has finished: the check finds PENDING
    await gd_client.get(f"/payments/orange-money/return?order={gd_order.id}")
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == (AttemptState.PENDING, PaymentStatus.PENDING)
    checked = await count(
        gd_runtime,
        Job,
        Job.kind == job_kinds.VERIFY,
        Job.state == JobState.PENDING,
        Job.attempts == 1,
    )
    assert checked == 1  # checked once, and to be checked again later
    await gd_provider_control.control(f"/{attempt.id}", outcome="SUCCESS", notify="1")
    assert [r.status_code for r in await om_post_notices()] == [200]
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == (AttemptState.SUCCEEDED, PaymentStatus.PAID)


async def test_paid_confirms_the_amount_asked_as_orange_answers_without_one(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: OrangeMoneyControl,
    gd_run_jobs: RunJobs,
    om_post_notices: PostNotices,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    await gd_provider_control.control(f"/{attempt.id}", outcome="SUCCESS", notify="1")
    await om_post_notices()
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == (AttemptState.SUCCEEDED, PaymentStatus.PAID)
    answer = await raw_status(gd_provider_control, attempt)
    assert set(answer) == {"status", "order_id", "txnid"}  # no amount, as Orange documents
    async with gd_runtime.db.transaction() as session:
        row = await session.get(PaymentAttempt, attempt.id)
        succeeded = (
            await session.execute(
                sa.select(AuditEvent).where(
                    AuditEvent.subject_id == attempt.id,
                    AuditEvent.to_state == AttemptState.SUCCEEDED.value,
                )
            )
        ).scalar_one()
    assert row is not None
    assert (row.confirmed_amount_minor, row.confirmed_currency) == (
        gd_order.amount_minor,
        gd_order.currency,
    )
    assert succeeded.data["amount_source"] == "status request"


async def raw_status(control: OrangeMoneyControl, attempt: PaymentAttempt) -> dict[str, object]:
    """Orange's own answer to the status call, asked with a plain httpx client."""
    async with httpx.AsyncClient(
        base_url=control.served.base_url, headers={"accept": "application/json"}, timeout=10
    ) as http:
        token = await http.post(
            "/oauth/v3/token",
            auth=(CLIENT_ID, CLIENT_SECRET),
            data={"grant_type": "client_credentials"},
        )
        response = await http.post(
            "/orange-money-webpay/dev/v1/transactionstatus",
            headers={"authorization": f"Bearer {token.json()['access_token']}"},
            json={
                "order_id": attempt.id,
                "amount": attempt.provider_data["om_amount"],
                "pay_token": attempt.provider_data["pay_token"],
            },
        )
    assert response.status_code == 201
    data: dict[str, object] = response.json()
    return data


async def test_abandoned_payment_sends_nothing_and_is_expired_by_reconcile(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_clock: FrozenClock,
    om_provider: OrangeMoney,
    om_simulator: OrangeMoneySimulator,
    om_deliverer: CollectingDeliverer,
) -> None:
    response = await gd_client.post(f"/checkout/{gd_order.id}/orange-money")
    payment_url = response.headers["location"]
    async with httpx.AsyncClient(timeout=10) as browser:
        back = await browser.post(payment_url, data={"choice": "abandon"})
    assert back.status_code == 303
    assert back.headers["location"].endswith("&cancelled=1")
    assert om_deliverer.take() == []  # Orange sends nothing when a buyer abandons
    gd_clock.advance(minutes=5)
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=0))
    assert report.counts == {"still pending": 1}  # INITIATED: the buyer may still pay
    gd_clock.advance(om_provider.session_lifetime)
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15))
    assert report.counts == {"expired": 1}
    async with gd_runtime.db.transaction() as session:
        attempt = (await session.execute(sa.select(PaymentAttempt))).scalar_one()
    assert await states(gd_runtime, attempt.id) == (AttemptState.EXPIRED, PaymentStatus.FAILED)
    # Orange itself never expires an abandoned session: it stays INITIATED
    assert om_simulator.sessions[attempt.id].status == "INITIATED"


async def test_token_expiry_mid_run_refreshes_once_and_the_payment_goes_on(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: OrangeMoneyControl,
    gd_run_jobs: RunJobs,
    om_provider: OrangeMoney,
    om_post_notices: PostNotices,
) -> None:
    before = (await gd_provider_control.counters())["token_requests"]
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    assert om_provider.client.tokens.fetches == 1
    await gd_provider_control.control(expire_tokens="1")
    await gd_provider_control.control(f"/{attempt.id}", outcome="SUCCESS", notify="1")
    await om_post_notices()
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == (AttemptState.SUCCEEDED, PaymentStatus.PAID)
    assert om_provider.client.tokens.fetches == 2
    assert (await gd_provider_control.counters())["token_requests"] - before == 2
