"""The provider contract: tests every payment provider plugin runs against its simulator.

Subclass ``ProviderContract`` in a ``Test*`` class and give it a ``gd_provider_control``
fixture returning a ``SimulatorControl`` for your simulator (and register your plugin
through ``gd_plugins``). The suite then proves, through the real app and webhook pipeline:
a payment starts; an authentic notification leads to PAID only after the provider's own
check; a forged one is refused with nothing changed; every outcome maps to the right state;
duplicates and out-of-order notifications deliver once; a wrong amount goes to REVIEW;
a provider that is down is retried and never makes anything PAID.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import httpx
import pytest
import sqlalchemy as sa

from gated_delivery import audit_names, job_kinds
from gated_delivery.models import AuditEvent, Job, JobState, Notification, Order, PaymentAttempt
from gated_delivery.money import Money
from gated_delivery.payments import view
from gated_delivery.plugin_types import AttemptView, ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.sandbox.fake_provider import FakeProvider
from gated_delivery.states import AttemptState, PaymentStatus

#: What each reported outcome must turn a pending attempt into.
EXPECTED: dict[ReportedStatus, AttemptState] = {
    ReportedStatus.SUCCEEDED: AttemptState.SUCCEEDED,
    ReportedStatus.FAILED: AttemptState.FAILED,
    ReportedStatus.CANCELLED: AttemptState.CANCELLED,
    ReportedStatus.EXPIRED: AttemptState.EXPIRED,
}

#: A notification as it travels: body, headers, query parameters.
Wire = tuple[bytes, dict[str, str], dict[str, str]]


class SimulatorControl(Protocol):
    """How the contract drives a provider's simulator.

    A control may also set ``reports_amount = False`` when the provider's status answer
    carries no paid amount (the provider then assumes the amount it asked for): the
    amount-mismatch test is skipped, and the plugin's own tests cover that path.
    """

    provider_name: str
    #: the outcomes the simulator can produce (a provider without EXPIRED leaves it out)
    outcomes: frozenset[ReportedStatus]

    async def settle(
        self, attempt: AttemptView, outcome: ReportedStatus, amount: Money | None = None
    ) -> None:
        """Make the provider's side settle this payment (amount: the one asked, if None)."""
        ...

    async def notification(self, attempt: AttemptView) -> Wire:
        """The authentic notification the provider would now send about this payment."""
        ...

    def forge(self, wire: Wire) -> Wire:
        """The same notification, tampered so that authentication must fail."""
        ...

    def down(self) -> contextlib.AbstractContextManager[None]:
        """While inside, the provider's status check is unreachable (or answers 5xx)."""
        ...


@dataclass
class FakeControl:
    """``SimulatorControl`` for the fake provider (the core runs the contract on it)."""

    provider: FakeProvider
    provider_name: str = "fake"
    outcomes: frozenset[ReportedStatus] = frozenset(EXPECTED)
    _events: int = 0

    async def settle(
        self, attempt: AttemptView, outcome: ReportedStatus, amount: Money | None = None
    ) -> None:
        """Tell the fake provider's ledger the outcome."""
        self.provider.will_report(attempt.attempt_id, outcome, amount)

    async def notification(self, attempt: AttemptView) -> Wire:
        """A signed notification carrying the ledger's current status."""
        self._events += 1
        status = self.provider.ledger.get(attempt.attempt_id)
        label = status.status.value if status else "pending"
        body, headers = self.provider.notification(attempt.attempt_id, status=label, event_id=label)
        return body, headers, {"order": attempt.order_id}

    def forge(self, wire: Wire) -> Wire:
        """Change the body after signing."""
        body, headers, query = wire
        return body.replace(b"}", b', "extra": 1}'), headers, query

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """Make ``check_status`` raise ``ProviderUnavailable``."""
        self.provider.is_down = True
        try:
            yield
        finally:
            self.provider.is_down = False


class ProviderContract:
    """The provider conformance suite. Subclass it as ``Test<YourProvider>Contract``."""

    # the order counts as new for ``minutes_later`` after creation in the reconciler tests
    minutes_later: ClassVar[int] = 24 * 60

    # --- helpers

    async def _start(
        self, client: httpx.AsyncClient, rt: Runtime, order: Order, name: str
    ) -> AttemptView:
        response = await client.post(f"/checkout/{order.id}/{name}")
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith(("http://", "https://"))
        async with rt.db.transaction() as session:
            attempt = (
                (
                    await session.execute(
                        sa.select(PaymentAttempt)
                        .where(PaymentAttempt.order_id == order.id)
                        .order_by(PaymentAttempt.created_at.desc())
                    )
                )
                .scalars()
                .first()
            )
            assert attempt is not None
            return view(attempt)

    async def _post(self, client: httpx.AsyncClient, name: str, wire: Wire) -> httpx.Response:
        body, headers, query = wire
        return await client.post(
            f"/payments/{name}/notify", content=body, headers=headers, params=query
        )

    async def _state(self, rt: Runtime, attempt: AttemptView) -> tuple[AttemptState, PaymentStatus]:
        async with rt.db.transaction() as session:
            row = await session.get(PaymentAttempt, attempt.attempt_id)
            order = await session.get(Order, attempt.order_id)
            assert row is not None
            assert order is not None
            return row.state, order.payment_status

    async def _count(self, rt: Runtime, query: Any) -> int:
        async with rt.db.transaction() as session:
            return int((await session.execute(query)).scalar_one())

    # --- the contract

    async def test_start_payment_sends_buyer_to_provider(
        self,
        gd_client: httpx.AsyncClient,
        gd_runtime: Runtime,
        gd_order: Order,
        gd_provider_control: SimulatorControl,
    ) -> None:
        attempt = await self._start(
            gd_client, gd_runtime, gd_order, gd_provider_control.provider_name
        )
        assert await self._state(gd_runtime, attempt) == (
            AttemptState.PENDING,
            PaymentStatus.PENDING,
        )

    async def test_authentic_notification_pays_after_check(
        self,
        gd_client: httpx.AsyncClient,
        gd_runtime: Runtime,
        gd_order: Order,
        gd_provider_control: SimulatorControl,
        gd_run_jobs: Callable[[], Awaitable[int]],
    ) -> None:
        control = gd_provider_control
        attempt = await self._start(gd_client, gd_runtime, gd_order, control.provider_name)
        await control.settle(attempt, ReportedStatus.SUCCEEDED)
        response = await self._post(
            gd_client, control.provider_name, await control.notification(attempt)
        )
        assert response.status_code == 200, response.text
        # the notification alone moved nothing: only the check does
        assert await self._state(gd_runtime, attempt) == (
            AttemptState.PENDING,
            PaymentStatus.PENDING,
        )
        await gd_run_jobs()
        assert await self._state(gd_runtime, attempt) == (
            AttemptState.SUCCEEDED,
            PaymentStatus.PAID,
        )
        status = (await gd_client.get(f"/orders/{gd_order.id}/status")).json()
        assert status["payment"] == "paid"
        assert (
            await self._count(
                gd_runtime,
                sa.select(sa.func.count())
                .select_from(Job)
                .where(Job.order_id == gd_order.id, Job.kind == job_kinds.FULFIL),
            )
            == 1
        )

    async def test_forged_notification_is_refused_and_changes_nothing(
        self,
        gd_client: httpx.AsyncClient,
        gd_runtime: Runtime,
        gd_order: Order,
        gd_provider_control: SimulatorControl,
        gd_run_jobs: Callable[[], Awaitable[int]],
    ) -> None:
        control = gd_provider_control
        attempt = await self._start(gd_client, gd_runtime, gd_order, control.provider_name)
        await control.settle(attempt, ReportedStatus.SUCCEEDED)
        forged = control.forge(await control.notification(attempt))
        response = await self._post(gd_client, control.provider_name, forged)
        assert response.status_code == 400
        assert (
            await self._count(gd_runtime, sa.select(sa.func.count()).select_from(Notification)) == 0
        )
        assert await gd_run_jobs() == 0
        assert await self._state(gd_runtime, attempt) == (
            AttemptState.PENDING,
            PaymentStatus.PENDING,
        )
        rejected = await self._count(
            gd_runtime,
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.machine == audit_names.WEBHOOK, AuditEvent.event == "rejected"),
        )
        assert rejected == 1

    @pytest.mark.parametrize("outcome", list(EXPECTED), ids=lambda o: o.value)
    async def test_status_mapping(
        self,
        outcome: ReportedStatus,
        gd_client: httpx.AsyncClient,
        gd_runtime: Runtime,
        gd_order: Order,
        gd_provider_control: SimulatorControl,
        gd_run_jobs: Callable[[], Awaitable[int]],
    ) -> None:
        control = gd_provider_control
        if outcome not in control.outcomes:
            pytest.skip(f"{control.provider_name} has no {outcome.value} outcome")
        attempt = await self._start(gd_client, gd_runtime, gd_order, control.provider_name)
        await control.settle(attempt, outcome)
        await self._post(gd_client, control.provider_name, await control.notification(attempt))
        await gd_run_jobs()
        state, payment = await self._state(gd_runtime, attempt)
        assert state is EXPECTED[outcome]
        expected_payment = (
            PaymentStatus.PAID if outcome is ReportedStatus.SUCCEEDED else PaymentStatus.FAILED
        )
        assert payment is expected_payment

    async def test_duplicate_and_late_notifications_deliver_once(
        self,
        gd_client: httpx.AsyncClient,
        gd_runtime: Runtime,
        gd_order: Order,
        gd_provider_control: SimulatorControl,
        gd_run_jobs: Callable[[], Awaitable[int]],
    ) -> None:
        control = gd_provider_control
        attempt = await self._start(gd_client, gd_runtime, gd_order, control.provider_name)
        # a notification that arrives before the provider has settled: checked, still pending
        early = await control.notification(attempt)
        assert (await self._post(gd_client, control.provider_name, early)).status_code == 200
        await gd_run_jobs()
        assert await self._state(gd_runtime, attempt) == (
            AttemptState.PENDING,
            PaymentStatus.PENDING,
        )
        await control.settle(attempt, ReportedStatus.SUCCEEDED)
        wire = await control.notification(attempt)
        for _ in range(3):
            assert (await self._post(gd_client, control.provider_name, wire)).status_code == 200
        await gd_run_jobs()
        # the early notification is delivered again, late and out of order
        assert (await self._post(gd_client, control.provider_name, early)).status_code == 200
        await gd_run_jobs()
        assert await self._state(gd_runtime, attempt) == (
            AttemptState.SUCCEEDED,
            PaymentStatus.PAID,
        )
        paid_events = await self._count(
            gd_runtime,
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.order_id == gd_order.id, AuditEvent.to_state == PaymentStatus.PAID.value
            ),
        )
        assert paid_events == 1
        fulfil_jobs = await self._count(
            gd_runtime,
            sa.select(sa.func.count())
            .select_from(Job)
            .where(Job.order_id == gd_order.id, Job.kind == job_kinds.FULFIL),
        )
        assert fulfil_jobs == 1

    async def test_amount_mismatch_goes_to_review(
        self,
        gd_client: httpx.AsyncClient,
        gd_runtime: Runtime,
        gd_order: Order,
        gd_provider_control: SimulatorControl,
        gd_run_jobs: Callable[[], Awaitable[int]],
    ) -> None:
        control = gd_provider_control
        if not getattr(control, "reports_amount", True):
            pytest.skip(f"{control.provider_name}'s status answer carries no amount")
        attempt = await self._start(gd_client, gd_runtime, gd_order, control.provider_name)
        short = Money(attempt.amount.amount_minor - 5, attempt.amount.currency)
        await control.settle(attempt, ReportedStatus.SUCCEEDED, amount=short)
        await self._post(gd_client, control.provider_name, await control.notification(attempt))
        await gd_run_jobs()
        assert await self._state(gd_runtime, attempt) == (AttemptState.REVIEW, PaymentStatus.REVIEW)
        status = (await gd_client.get(f"/orders/{gd_order.id}/status")).json()
        assert status["paid"] is False
        assert status["downloadable"] is False

    async def test_provider_down_is_retried_and_never_paid(
        self,
        gd_client: httpx.AsyncClient,
        gd_runtime: Runtime,
        gd_order: Order,
        gd_provider_control: SimulatorControl,
        gd_run_jobs: Callable[[], Awaitable[int]],
    ) -> None:
        control = gd_provider_control
        attempt = await self._start(gd_client, gd_runtime, gd_order, control.provider_name)
        await control.settle(attempt, ReportedStatus.SUCCEEDED)
        wire = await control.notification(attempt)
        with control.down():
            assert (await self._post(gd_client, control.provider_name, wire)).status_code == 200
            await gd_run_jobs()
            assert await self._state(gd_runtime, attempt) == (
                AttemptState.PENDING,
                PaymentStatus.PENDING,
            )
            async with gd_runtime.db.transaction() as session:
                job = (
                    await session.execute(sa.select(Job).where(Job.order_id == gd_order.id))
                ).scalar_one()
                assert job.state is JobState.PENDING
                assert job.last_error
        clock: Any = gd_runtime.clock
        clock.advance(minutes=15)  # past the first backoff
        await gd_run_jobs()
        assert await self._state(gd_runtime, attempt) == (
            AttemptState.SUCCEEDED,
            PaymentStatus.PAID,
        )
