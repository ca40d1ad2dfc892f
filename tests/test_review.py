"""Staff decisions on a payment under REVIEW: accept it, or record its refund, with a reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
import pytest_asyncio

from gated_delivery import review
from gated_delivery.errors import ActionRefused, NotFound
from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.money import Money
from gated_delivery.runtime import Runtime
from gated_delivery.states import PaymentStatus
from gated_delivery.testing import FakeProvider, checkout, make_order, notify_fake, pay_with_fake

RunJobs = Callable[[], Awaitable[int]]
#: Less than the order's 25 000 XOF: the fake provider reports it, the attempt goes to REVIEW.
SHORT = Money(9000, "XOF")


@pytest_asyncio.fixture
async def under_review(
    gd_client: httpx.AsyncClient,
    gd_fake_provider: FakeProvider,
    gd_runtime: Runtime,
    gd_run_jobs: RunJobs,
) -> tuple[str, str]:
    """An order whose only attempt waits for staff (the provider reported less money)."""
    order = await make_order(gd_runtime)
    attempt_id = await pay_with_fake(
        gd_client, gd_fake_provider, order.id, gd_run_jobs, amount=SHORT
    )
    return order.id, attempt_id


async def states(rt: Runtime, order_id: str, attempt_id: str) -> tuple[PaymentStatus, str]:
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id)
        attempt = await session.get(PaymentAttempt, attempt_id)
        assert order is not None
        assert attempt is not None
        return order.payment_status, attempt.state.value


async def test_accepting_makes_the_attempt_succeeded_and_the_order_paid(
    under_review: tuple[str, str], gd_runtime: Runtime
) -> None:
    order_id, attempt_id = under_review
    assert await states(gd_runtime, order_id, attempt_id) == (PaymentStatus.REVIEW, "review")
    await review.accept_as_paid(gd_runtime, order_id, attempt_id, actor="staff:t", reason=" ok ")
    assert await states(gd_runtime, order_id, attempt_id) == (PaymentStatus.PAID, "succeeded")


@pytest.mark.parametrize("decision", [review.accept_as_paid, review.mark_refunded])
async def test_a_decision_without_a_reason_changes_nothing(
    decision: Callable[..., Awaitable[None]], under_review: tuple[str, str], gd_runtime: Runtime
) -> None:
    order_id, attempt_id = under_review
    with pytest.raises(ActionRefused, match="a reason is required"):
        await decision(gd_runtime, order_id, attempt_id, actor="staff:t", reason="   ")
    assert await states(gd_runtime, order_id, attempt_id) == (PaymentStatus.REVIEW, "review")


async def test_an_attempt_not_under_review_or_of_another_order_is_refused(
    under_review: tuple[str, str], gd_runtime: Runtime
) -> None:
    order_id, attempt_id = under_review
    other = await make_order(gd_runtime)
    with pytest.raises(NotFound):
        await review.accept_as_paid(gd_runtime, other.id, attempt_id, actor="s", reason="x")
    await review.accept_as_paid(gd_runtime, order_id, attempt_id, actor="s", reason="x")
    with pytest.raises(ActionRefused, match="not under review"):
        await review.mark_refunded(gd_runtime, order_id, attempt_id, actor="s", reason="x")
    assert await states(gd_runtime, order_id, attempt_id) == (PaymentStatus.PAID, "succeeded")


async def test_a_second_payment_refunded_closes_only_that_attempt(
    gd_client: httpx.AsyncClient,
    gd_fake_provider: FakeProvider,
    gd_runtime: Runtime,
    gd_run_jobs: RunJobs,
) -> None:
    order = await make_order(gd_runtime)
    first, second = [await checkout(gd_client, order.id) for _ in range(2)]
    for attempt_id in (first, second):  # both paid: the buyer tried twice
        gd_fake_provider.will_report(attempt_id)
        await notify_fake(gd_client, gd_fake_provider, attempt_id)
        await gd_run_jobs()
    # the second success found the order paid: it waits for staff as a double payment
    assert await states(gd_runtime, order.id, second) == (PaymentStatus.PAID, "review")
    with pytest.raises(ActionRefused, match="already paid by another attempt"):
        await review.accept_as_paid(gd_runtime, order.id, second, actor="s", reason="x")
    await review.mark_refunded(gd_runtime, order.id, second, actor="s", reason="sent back")
    assert await states(gd_runtime, order.id, second) == (PaymentStatus.PAID, "failed")


async def test_refunding_the_only_payment_refunds_the_order(
    under_review: tuple[str, str], gd_runtime: Runtime
) -> None:
    order_id, attempt_id = under_review
    await review.mark_refunded(gd_runtime, order_id, attempt_id, actor="s", reason="sent back")
    assert (await states(gd_runtime, order_id, attempt_id))[0] is PaymentStatus.REFUNDED
