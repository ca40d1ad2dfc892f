"""settle(): the provider's answer, and only it, moves a payment; PAID queues fulfilment once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import sqlalchemy as sa

from gated_delivery import job_kinds
from gated_delivery.models import Job, Order, PaymentAttempt
from gated_delivery.money import Money
from gated_delivery.payments import settle
from gated_delivery.plugin_types import ProviderStatus, ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus
from gated_delivery.testing import FakeProvider, checkout, make_order

RunJobs = Callable[[], Awaitable[int]]
PRICE = Money(25000, "XOF")


async def states(rt: Runtime, order_id: str, attempt_id: str) -> tuple[PaymentStatus, str, int]:
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id)
        attempt = await session.get(PaymentAttempt, attempt_id)
        fulfil = await session.execute(
            sa.select(sa.func.count())
            .select_from(Job)
            .where(Job.order_id == order_id, Job.kind == job_kinds.FULFIL)
        )
        assert order is not None
        assert attempt is not None
        return order.payment_status, attempt.state.value, int(fulfil.scalar_one())


async def started(client: httpx.AsyncClient, rt: Runtime) -> tuple[str, str]:
    order = await make_order(rt, price=PRICE)
    return order.id, await checkout(client, order.id)


async def test_success_with_the_price_pays_and_queues_fulfilment_once(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    order_id, attempt_id = await started(gd_client, gd_runtime)
    paid = ProviderStatus(ReportedStatus.SUCCEEDED, amount=PRICE, provider_ref="ref-1")
    for _ in range(3):  # the webhook, the return page and the reconciler all ask
        await settle(gd_runtime, attempt_id, paid, actor="worker")
    assert await states(gd_runtime, order_id, attempt_id) == (PaymentStatus.PAID, "succeeded", 1)


async def test_a_pending_answer_changes_nothing(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    order_id, attempt_id = await started(gd_client, gd_runtime)
    before = await states(gd_runtime, order_id, attempt_id)
    await settle(gd_runtime, attempt_id, ProviderStatus(ReportedStatus.PENDING), actor="worker")
    assert (
        await states(gd_runtime, order_id, attempt_id)
        == before
        == (
            PaymentStatus.PENDING,
            "pending",
            0,
        )
    )


async def test_another_amount_or_currency_goes_to_review_never_paid(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    for amount in (Money(24999, "XOF"), Money(25000, "XAF")):
        order_id, attempt_id = await started(gd_client, gd_runtime)
        status = ProviderStatus(ReportedStatus.SUCCEEDED, amount=amount)
        await settle(gd_runtime, attempt_id, status, actor="worker")
        assert await states(gd_runtime, order_id, attempt_id) == (
            PaymentStatus.REVIEW,
            "review",
            0,
        )


async def test_a_late_success_after_a_failure_is_kept(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    order_id, attempt_id = await started(gd_client, gd_runtime)
    failed = ProviderStatus(ReportedStatus.FAILED, reason="insufficient balance")
    await settle(gd_runtime, attempt_id, failed, actor="worker")
    assert await states(gd_runtime, order_id, attempt_id) == (PaymentStatus.FAILED, "failed", 0)
    late = ProviderStatus(ReportedStatus.SUCCEEDED, amount=PRICE)
    assert await settle(gd_runtime, attempt_id, late, actor="reconciler") is AttemptState.SUCCEEDED
    assert await states(gd_runtime, order_id, attempt_id) == (PaymentStatus.PAID, "succeeded", 1)


async def test_the_worker_settles_through_the_providers_own_answer(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order_id, attempt_id = await started(gd_client, gd_runtime)
    # a notification saying "succeeded" is not enough: the provider's server says pending
    body, headers = gd_fake_provider.notification(attempt_id, status="succeeded")
    await gd_client.post("/payments/fake/notify", content=body, headers=headers)
    await gd_run_jobs()
    assert (await states(gd_runtime, order_id, attempt_id))[:2] == (
        PaymentStatus.PENDING,
        "pending",
    )
    gd_fake_provider.will_report(attempt_id)
    # the same notification again is a duplicate; the buyer's return asks the provider anew
    await gd_client.get(f"/payments/fake/return?order={order_id}")
    await gd_run_jobs()
    assert (await states(gd_runtime, order_id, attempt_id))[:2] == (PaymentStatus.PAID, "succeeded")
