"""Wave flows through the real app, database and webhook pipeline (both backends): the payer's
page, a failed try then a success in one session, expiry, late success, the reconciler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import sqlalchemy as sa
from gated_delivery_wave import Wave, WaveSimulator
from gated_delivery_wave.testing import CollectingDeliverer, WaveControl

from gated_delivery import job_kinds
from gated_delivery.models import AuditEvent, Job, Order
from gated_delivery.reconcile import reconcile
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus
from gated_delivery.testing import FrozenClock

from .helpers import checkout, count, states, wait_for_webhooks

RunJobs = Callable[[], Awaitable[int]]
PostNotices = Callable[[], Awaitable[list[httpx.Response]]]
PAID = (AttemptState.SUCCEEDED, PaymentStatus.PAID)
PENDING = (AttemptState.PENDING, PaymentStatus.PENDING)


async def paid_transitions(rt: Runtime, order_id: str) -> int:
    return await count(
        rt,
        AuditEvent,
        AuditEvent.order_id == order_id,
        AuditEvent.to_state == PaymentStatus.PAID.value,
    )


#: The simulator's last_payment_error message for a failed try (insufficient-funds).
WAVE_SAYS = "Le solde du compte Wave est insuffisant."


async def last_try(client: httpx.AsyncClient, order: Order) -> str:
    """What the order's status endpoint tells the buyer about their last failed try."""
    return str((await client.get(f"/orders/{order.id}/status")).json()["last_try"])


async def order_page(client: httpx.AsyncClient, order: Order) -> httpx.Response:
    """The order page Wave's error_url leads the buyer back to."""
    return await client.get(f"/payments/wave/return?order={order.id}&cancelled=1")


async def test_buyer_pays_on_the_page_and_the_webhook_leads_to_paid(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_run_jobs: RunJobs,
    wave_simulator: WaveSimulator,
    wave_deliverer: CollectingDeliverer,
    wave_post_notices: PostNotices,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    session_id = attempt.provider_data["session_id"]
    assert session_id.startswith("cos-")
    assert attempt.provider_data["wave_amount"] == "5000"
    launch = f"{wave_simulator.sessions[session_id].launch_url}"
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(launch)
        assert "5000 XOF" in page.text
        for label in ("Payer", "Échec du paiement", "Laisser expirer"):
            assert f">{label}</button>" in page.text
        back = await browser.post(launch, data={"choice": "pay"})
    assert back.status_code == 303
    assert back.headers["location"] == f"http://testserver/payments/wave/return?order={gd_order.id}"
    await wait_for_webhooks(wave_deliverer, 1)
    assert [r.text for r in await wave_post_notices()] == ["ok"]
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == PAID
    async with gd_runtime.db.transaction() as session:
        row = await session.get(type(attempt), attempt.id)
    assert row is not None
    assert row.provider_ref == wave_simulator.sessions[session_id].transaction_id


async def test_a_failed_try_then_a_success_in_the_same_session_pays_once(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_run_jobs: RunJobs,
    wave_simulator: WaveSimulator,
    wave_deliverer: CollectingDeliverer,
    wave_post_notices: PostNotices,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    launch = wave_simulator.sessions[attempt.provider_data["session_id"]].launch_url
    async with httpx.AsyncClient(timeout=10) as browser:
        back = await browser.post(launch, data={"choice": "fail"})
        assert back.headers["location"].endswith("&cancelled=1")  # Wave's error_url
        await wait_for_webhooks(wave_deliverer, 1)
        assert [r.status_code for r in await wave_post_notices()] == [200]
        await gd_run_jobs()
        # the session is still open: the buyer may try again, and is told why it failed
        assert await states(gd_runtime, attempt.id) == PENDING
        assert "solde du compte Wave est insuffisant" in (await browser.get(launch)).text
        # ... on the shop's order page too, in Wave's words
        assert await last_try(gd_client, gd_order) == WAVE_SAYS
        assert WAVE_SAYS in (await order_page(gd_client, gd_order)).text
        await browser.post(launch, data={"choice": "pay"})
    await wait_for_webhooks(wave_deliverer, 1)
    await wave_post_notices()
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == PAID
    assert await paid_transitions(gd_runtime, gd_order.id) == 1
    assert await count(gd_runtime, Job, Job.kind == job_kinds.FULFIL) == 1
    assert await last_try(gd_client, gd_order) == ""  # paid: the failed try is forgotten
    assert WAVE_SAYS not in (await order_page(gd_client, gd_order)).text


async def test_an_expired_session_is_expired_and_a_late_success_is_kept(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_run_jobs: RunJobs,
    gd_provider_control: WaveControl,
    wave_post_notices: PostNotices,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    session_id = attempt.provider_data["session_id"]
    gd_provider_control.control(f"/{session_id}", outcome="expired", notify="1")
    await wave_post_notices()  # a payment_failed event about the expired session
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == (AttemptState.EXPIRED, PaymentStatus.FAILED)
    gd_provider_control.control(f"/{session_id}", outcome="succeeded", notify="1")
    await wave_post_notices()
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == PAID  # the buyer's money is never dropped
    assert await paid_transitions(gd_runtime, gd_order.id) == 1


async def test_the_reconciler_expires_an_abandoned_session_at_wave_first(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_clock: FrozenClock,
    gd_provider_control: WaveControl,
    wave_provider: Wave,
    wave_simulator: WaveSimulator,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    session = wave_simulator.sessions[attempt.provider_data["session_id"]]
    before = gd_provider_control.control()["expired_by_call"]
    gd_clock.advance(minutes=20)
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15))
    assert report.counts == {"still pending": 1}
    assert session.checkout_status == "open"
    gd_clock.advance(wave_provider.session_lifetime)
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15))
    assert report.counts == {"expired": 1}
    assert await states(gd_runtime, attempt.id) == (AttemptState.EXPIRED, PaymentStatus.FAILED)
    assert session.checkout_status == "expired"  # closed at Wave: nobody can pay it now
    assert gd_provider_control.control()["expired_by_call"] == before + 1


async def test_a_session_paid_just_before_the_reconciler_expires_it_is_paid(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_clock: FrozenClock,
    gd_provider_control: WaveControl,
    wave_provider: Wave,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    gd_provider_control.control(
        f"/{attempt.provider_data['session_id']}", outcome="succeeded", notify="0"
    )  # and its webhook is lost
    gd_clock.advance(wave_provider.session_lifetime + timedelta(minutes=1))
    report = await reconcile(gd_runtime, min_age=timedelta(minutes=15))
    assert report.counts == {"succeeded": 1}
    assert await states(gd_runtime, attempt.id) == PAID


async def test_a_lost_webhook_is_caught_up_by_the_return_page(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_run_jobs: RunJobs,
    gd_provider_control: WaveControl,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    gd_provider_control.control(
        f"/{attempt.provider_data['session_id']}", outcome="succeeded", notify="0"
    )
    await gd_client.get(f"/payments/wave/return?order={gd_order.id}")
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == PAID


async def test_an_unexpected_combination_goes_to_review_with_the_fields_audited(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_run_jobs: RunJobs,
    wave_simulator: WaveSimulator,
) -> None:
    attempt = await checkout(gd_client, gd_runtime, gd_order)
    session = wave_simulator.sessions[attempt.provider_data["session_id"]]
    session.checkout_status, session.payment_status = "complete", "cancelled"
    await gd_client.get(f"/payments/wave/return?order={gd_order.id}")
    await gd_run_jobs()
    assert await states(gd_runtime, attempt.id) == (AttemptState.REVIEW, PaymentStatus.REVIEW)
    async with gd_runtime.db.transaction() as db:
        data = (
            await db.execute(
                sa.select(AuditEvent.data).where(
                    AuditEvent.subject_id == attempt.id, AuditEvent.to_state == "review"
                )
            )
        ).scalar_one()
    assert data["wave_checkout_status"] == "complete"
    assert data["wave_payment_status"] == "cancelled"
    assert data["wave_review"] == "unexpected complete + cancelled"
