"""The webhook intake and the return page (web/notify.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import httpx
import pytest
import sqlalchemy as sa

from gated_delivery import job_kinds
from gated_delivery.models import AuditEvent, Job, Notification, Order, PaymentAttempt
from gated_delivery.money import Money
from gated_delivery.plugin_types import ProviderStatus, ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus
from gated_delivery.testing import FakeProvider, checkout

RunJobs = Callable[[], Awaitable[int]]


async def rows(rt: Runtime, model: type) -> int:
    async with rt.db.transaction() as session:
        return int(
            (await session.execute(sa.select(sa.func.count()).select_from(model))).scalar_one()
        )


async def payment(rt: Runtime, order: Order) -> PaymentStatus:
    async with rt.db.transaction() as session:
        row = await session.get(Order, order.id)
        assert row is not None
        return row.payment_status


async def test_ping_answers_ok(gd_client: httpx.AsyncClient) -> None:
    response = await gd_client.get("/payments/fake/notify")
    assert (response.status_code, response.text) == (200, "ok")


async def test_unknown_provider_is_404(gd_client: httpx.AsyncClient) -> None:
    response = await gd_client.post("/payments/nope/notify", content=b"{}")
    assert response.status_code == 404
    assert "nope" in response.json()["error"]


async def test_missing_signature_is_400_audited_and_changes_nothing(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    gd_fake_provider.will_report(attempt_id)
    body, _headers = gd_fake_provider.notification(attempt_id)
    response = await gd_client.post(
        "/payments/fake/notify", content=body, params={"order": gd_order.id}
    )
    assert response.status_code == 400
    assert "missing x-fake-signature" in response.text
    assert await rows(gd_runtime, Notification) == 0
    assert await rows(gd_runtime, Job) == 0
    async with gd_runtime.db.transaction() as session:
        event = (
            await session.execute(sa.select(AuditEvent).where(AuditEvent.event == "rejected"))
        ).scalar_one()
        assert event.order_id == gd_order.id
        assert event.actor == "provider:fake"
    assert await payment(gd_runtime, gd_order) is PaymentStatus.PENDING


async def test_body_over_64_kib_is_413_and_stores_nothing(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_fake_provider: FakeProvider
) -> None:
    body = b'{"attempt_id": "x", "pad": "' + b"a" * (64 * 1024) + b'"}'
    headers = {"x-fake-signature": gd_fake_provider.sign(body)}
    response = await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    assert response.status_code == 413
    assert await rows(gd_runtime, Notification) == 0


async def test_body_over_64_kib_without_content_length_is_413(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(70):
            yield b"a" * 1024

    response = await gd_client.post("/payments/fake/notify", content=chunks())
    assert response.status_code == 413


async def test_notification_is_stored_and_queues_a_check_without_paying(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    # the webhook claims success, but the provider's server has not confirmed anything
    body, headers = gd_fake_provider.notification(attempt_id, status="succeeded")
    response = await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    assert response.status_code == 200
    assert await rows(gd_runtime, Notification) == 1
    await gd_run_jobs()
    assert await payment(gd_runtime, gd_order) is PaymentStatus.PENDING
    duplicate = await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    assert (duplicate.status_code, duplicate.text) == (200, "ok (duplicate)")
    assert await rows(gd_runtime, Notification) == 1


async def test_authentic_notice_for_an_unknown_attempt_is_kept_but_acts_on_nothing(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_fake_provider: FakeProvider
) -> None:
    body, headers = gd_fake_provider.notification("no-such-attempt")
    response = await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    assert response.status_code == 200
    assert await rows(gd_runtime, Notification) == 1
    assert await rows(gd_runtime, Job) == 0


async def test_underpaid_goes_to_review(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    gd_fake_provider.will_report(attempt_id, amount=Money(4995, "XOF"))
    body, headers = gd_fake_provider.notification(attempt_id)
    await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    await gd_run_jobs()
    status = (await gd_client.get(f"/orders/{gd_order.id}/status")).json()
    assert status["payment"] == "review"
    assert status["downloadable"] is False
    async with gd_runtime.db.transaction() as session:
        reason = (
            await session.execute(
                sa.select(AuditEvent.reason).where(
                    AuditEvent.to_state == "review", AuditEvent.machine == "payment attempt"
                )
            )
        ).scalar_one()
    assert reason == "provider confirmed 4995 XOF, the order is 5000 XOF"


async def test_wrong_currency_goes_to_review(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    gd_fake_provider.will_report(attempt_id, amount=Money(5000, "XAF"))
    body, headers = gd_fake_provider.notification(attempt_id)
    await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    await gd_run_jobs()
    assert await payment(gd_runtime, gd_order) is PaymentStatus.REVIEW


async def test_late_success_after_expiry_is_kept(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    gd_fake_provider.will_report(attempt_id, ReportedStatus.EXPIRED)
    body, headers = gd_fake_provider.notification(attempt_id, status="expired")
    await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    await gd_run_jobs()
    assert await payment(gd_runtime, gd_order) is PaymentStatus.FAILED
    # mobile money confirms late: the buyer's money was taken, so the payment stands
    gd_fake_provider.will_report(attempt_id, ReportedStatus.SUCCEEDED)
    body, headers = gd_fake_provider.notification(attempt_id, status="succeeded")
    await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    await gd_run_jobs()
    assert await payment(gd_runtime, gd_order) is PaymentStatus.PAID


async def test_second_payment_of_a_paid_order_goes_to_review(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    first = await checkout(gd_client, gd_order.id)
    second = await checkout(gd_client, gd_order.id)
    for attempt_id in (first, second):
        gd_fake_provider.will_report(attempt_id)
        body, headers = gd_fake_provider.notification(attempt_id)
        await gd_client.post("/payments/fake/notify", content=body, headers=headers)
        await gd_run_jobs()
    async with gd_runtime.db.transaction() as session:
        states = dict(
            (await session.execute(sa.select(PaymentAttempt.id, PaymentAttempt.state))).all()
        )
    assert states == {first: AttemptState.SUCCEEDED, second: AttemptState.REVIEW}
    assert await payment(gd_runtime, gd_order) is PaymentStatus.PAID


async def attempt_state(rt: Runtime, attempt_id: str) -> AttemptState:
    async with rt.db.transaction() as session:
        row = await session.get(PaymentAttempt, attempt_id)
        assert row is not None
        return row.state


async def test_a_review_answer_goes_to_review_with_its_data_audited(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    # even with the right amount: the provider itself says its answer does not add up
    gd_fake_provider.ledger[attempt_id] = ProviderStatus(
        ReportedStatus.REVIEW,
        amount=Money(5000, "XOF"),
        reason="complete + cancelled",
        data={"fake_state": "complete + cancelled"},
    )
    body, headers = gd_fake_provider.notification(attempt_id, status="review")
    await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    await gd_run_jobs()
    assert await attempt_state(gd_runtime, attempt_id) is AttemptState.REVIEW
    assert await payment(gd_runtime, gd_order) is PaymentStatus.REVIEW
    async with gd_runtime.db.transaction() as session:
        event = (
            await session.execute(
                sa.select(AuditEvent).where(
                    AuditEvent.subject_id == attempt_id, AuditEvent.to_state == "review"
                )
            )
        ).scalar_one()
    assert event.reason == "complete + cancelled"
    assert event.data["reported"] == "review"
    assert event.data["fake_state"] == "complete + cancelled"
    async with gd_runtime.db.transaction() as session:
        kinds = set((await session.execute(sa.select(Job.kind))).scalars())
    assert job_kinds.FULFIL not in kinds  # nothing is delivered while staff look


@pytest.mark.parametrize("settled", [ReportedStatus.SUCCEEDED, ReportedStatus.EXPIRED])
async def test_a_review_answer_never_undoes_a_success_and_reopens_a_failure(
    settled: ReportedStatus,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    gd_fake_provider.will_report(attempt_id, settled)
    body, headers = gd_fake_provider.notification(attempt_id, status=settled.value)
    await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    await gd_run_jobs()
    gd_fake_provider.ledger[attempt_id] = ProviderStatus(ReportedStatus.REVIEW)
    body, headers = gd_fake_provider.notification(attempt_id, status="review")
    await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    await gd_run_jobs()
    if settled is ReportedStatus.SUCCEEDED:  # paid stays paid: staff are not asked twice
        assert await attempt_state(gd_runtime, attempt_id) is AttemptState.SUCCEEDED
        assert await payment(gd_runtime, gd_order) is PaymentStatus.PAID
    else:  # an expired payment the provider now doubts: a person looks, nothing is paid
        assert await attempt_state(gd_runtime, attempt_id) is AttemptState.REVIEW
        assert await payment(gd_runtime, gd_order) is PaymentStatus.REVIEW


async def test_return_page_shows_status_and_never_pays(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    # anyone can add ?status=ACCEPTED to a return URL; it must mean nothing
    response = await gd_client.post(
        f"/payments/fake/return?order={gd_order.id}&status=ACCEPTED", data={"status": "ACCEPTED"}
    )
    assert response.status_code == 200
    assert "paiement en attente de confirmation" in response.text
    await gd_run_jobs()
    assert await payment(gd_runtime, gd_order) is PaymentStatus.PENDING
    # but it does ask the provider, which is how a lost webhook is caught up
    gd_fake_provider.will_report(attempt_id)
    gd_runtime.clock.advance(minutes=1)  # type: ignore[attr-defined]
    await gd_client.get(f"/payments/fake/return?order={gd_order.id}")
    await gd_run_jobs()
    assert await payment(gd_runtime, gd_order) is PaymentStatus.PAID


async def test_return_page_for_unknown_order_is_404(gd_client: httpx.AsyncClient) -> None:
    assert (await gd_client.get("/payments/fake/return?order=nope")).status_code == 404
    assert (await gd_client.get("/payments/fake/return")).status_code == 404


async def test_a_burst_of_rejected_notifications_is_logged_as_a_count(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    from gated_delivery import rejections

    with caplog.at_level(logging.WARNING, logger="gated_delivery"):
        for _ in range(50):
            response = await gd_client.post("/payments/fake/notify", content=b"{}")
            assert response.status_code == 400
    logged = [r.getMessage() for r in caplog.records if r.name == "gated_delivery.web.notify"]
    # one line each for the first ones, one saying the rest are counted
    assert len(logged) == rejections.LOGGED_PER_CLIENT + 1
    assert await rows(gd_runtime, AuditEvent) == rejections.LOGGED_PER_CLIENT
    gd_runtime.clock.advance(rejections.WINDOW)  # type: ignore[attr-defined]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gated_delivery"):
        await gd_client.post("/payments/fake/notify", content=b"{}")
    [line] = [r.getMessage() for r in caplog.records if r.name == "gated_delivery.web.notify"]
    assert "(40 more from the same client not logged)" in line
