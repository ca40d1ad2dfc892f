"""The design's invariants, over random sequences of events through the real code.

Each example sells one product (a stored file, a generated document, or a generated draft
that staff review) through the real app, the real worker and the real database. Then, in
any order and any number: the fake provider settles an attempt (paid, refused, cancelled,
expired, paid the wrong amount or currency), authentic notifications arrive (new ones, and
old ones again), the buyer opens the return page, the reconciler runs (for real or dry),
the buyer starts another attempt, time passes, the worker runs, and staff try fulfilment
moves. After every step the database must show that:

- nothing is generated, published or downloadable unless the order is PAID, and PUBLISHED
  has a final document when the product requires review;
- a payment is confirmed at most once, and only on the provider's own word;
- every transition has exactly one audit event, each a legal move, and the trail only grows;
- the order's status is the one its attempts imply;
- there is at most one ``fulfil`` job per order, and no job dies.

A staff move the guards refuse, and a dry run of the reconciler, change nothing at all.
When the events are over, the order is left to settle (the provider's last notification
about each attempt it settled, a day later, the reconciler, the worker) and must end where
the provider's word takes it.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gated_delivery import fulfilment, job_kinds
from gated_delivery.catalogue import upsert_product
from gated_delivery.checkout import PAYABLE
from gated_delivery.config import CoreSettings
from gated_delivery.db import lock
from gated_delivery.errors import IllegalTransition
from gated_delivery.hookspecs import hookimpl
from gated_delivery.ids import new_public_id
from gated_delivery.models import (
    Asset,
    AssetKind,
    AuditEvent,
    Base,
    Job,
    JobState,
    Notification,
    Order,
    PaymentAttempt,
)
from gated_delivery.money import Money
from gated_delivery.plugin_types import GeneratedDocument, GenerationRequest, ReportedStatus
from gated_delivery.reconcile import reconcile
from gated_delivery.runtime import Runtime
from gated_delivery.states import (
    ATTEMPT,
    FULFILMENT,
    NEEDS_PAYMENT,
    OPEN_ATTEMPTS,
    ORDER,
    AttemptState,
    FulfilmentState,
    Machine,
    PaymentStatus,
    derive_payment_status,
)
from gated_delivery.testing import FakeProvider, FrozenClock, ProviderPlugin
from gated_delivery.transitions import JobSpec

A = AttemptState
P = PaymentStatus
F = FulfilmentState

GENERATOR_NAME: Final = "invariants-generator"
PRICE: Final = Money(5000, "XOF")
#: Fulfilment states in which the buyer can download.
DELIVERABLE: Final = frozenset({F.PUBLISHED, F.DELIVERED})
#: What a finished job may carry as its last error: nothing, or the note of a check that
#: kept reporting "pending" until its tries ran out (the reconciler takes over then).
GAVE_UP: Final = "gave up after"


# --- a generator that notes the payment status of every order it generates for ----------


class RecordingGenerator:
    """Generates a small text draft and records, per call, the order's status at that time."""

    name = GENERATOR_NAME

    def __init__(self) -> None:
        self.runtime: Runtime | None = None
        self.fails = False
        self.calls: list[tuple[str, PaymentStatus]] = []

    async def generate(self, request: GenerationRequest) -> GeneratedDocument:
        """Read the order's payment status, then succeed or fail as the example decided."""
        assert self.runtime is not None, "the test sets the runtime before any job runs"
        async with self.runtime.db.transaction() as session:
            order = await session.get(Order, request.order_id)
            assert order is not None
            self.calls.append((request.order_id, order.payment_status))
        if self.fails:
            raise RuntimeError("the invariants generator was told to fail")
        content = f"draft for order {request.order_id}".encode()
        return GeneratedDocument(content, "draft.txt", "text/plain")


class GeneratorPlugin:
    """Offers one ``RecordingGenerator`` through the real ``generators`` hook."""

    __name__ = "invariants-generator-plugin"

    def __init__(self, generator: RecordingGenerator) -> None:
        self.generator = generator

    @hookimpl
    def generators(self, settings: CoreSettings) -> Iterable[RecordingGenerator]:
        """The recording generator, whatever the settings."""
        return [self.generator]


@pytest.fixture
def generator() -> RecordingGenerator:
    return RecordingGenerator()


@pytest.fixture
def gd_plugins(gd_fake_provider: FakeProvider, generator: RecordingGenerator) -> list[object]:
    return [ProviderPlugin(gd_fake_provider), GeneratorPlugin(generator)]


# --- the events --------------------------------------------------------------------------


class Delivery(enum.Enum):
    """The three ways a product is delivered."""

    FILE = "file"  # a stored file, published as soon as the order is paid
    GENERATED = "generated"  # a generated document, published without review
    REVIEWED = "reviewed"  # a generated draft; staff upload the final and publish


class Outcome(enum.Enum):
    """What the provider's server can be made to say about an attempt."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    WRONG_AMOUNT = "wrong amount"
    WRONG_CURRENCY = "wrong currency"


@dataclass(frozen=True)
class Checkout:
    """The buyer starts a new attempt (the provider may refuse to open it)."""

    refused: bool


@dataclass(frozen=True)
class Settle:
    """The provider's server settles one attempt (it may change its mind later)."""

    attempt: int
    outcome: Outcome


@dataclass(frozen=True)
class Notify:
    """The provider sends an authentic notification about one attempt."""

    attempt: int
    event_id: int


@dataclass(frozen=True)
class Replay:
    """A notification sent earlier arrives again."""

    notice: int


@dataclass(frozen=True)
class VisitReturn:
    """The buyer's browser lands on (or reloads) the return page."""

    cancelled: bool


@dataclass(frozen=True)
class Reconcile:
    """The reconciler runs, with no minimum age."""

    dry_run: bool


@dataclass(frozen=True)
class Advance:
    """Time passes."""

    minutes: int


@dataclass(frozen=True)
class RunJobs:
    """The worker runs every job that is due."""


@dataclass(frozen=True)
class Staff:
    """Staff try to move the fulfilment (with a final upload or a new generation round)."""

    target: FulfilmentState


Event = Checkout | Settle | Notify | Replay | VisitReturn | Reconcile | Advance | RunJobs | Staff

# most payments go through; every other outcome comes up too
OUTCOMES: Final = st.sampled_from([*[Outcome.SUCCEEDED] * 3, *Outcome])
SETTLE: Final = st.builds(Settle, attempt=st.integers(0, 3), outcome=OUTCOMES)
NOTIFY: Final = st.builds(Notify, attempt=st.integers(0, 3), event_id=st.integers(1, 2))
RUN_JOBS: Final = st.just(RunJobs())
# the worker, the provider's word and its notifications move payments: they come first (the
# simplest events, which failing examples shrink to) and twice as often as the others
EVENTS: Final[st.SearchStrategy[Event]] = st.one_of(
    RUN_JOBS,
    SETTLE,
    NOTIFY,
    RUN_JOBS,
    SETTLE,
    NOTIFY,
    st.builds(Checkout, refused=st.sampled_from([False, False, False, True])),
    st.builds(Replay, notice=st.integers(0, 15)),
    st.builds(VisitReturn, cancelled=st.booleans()),
    st.builds(Reconcile, dry_run=st.booleans()),
    st.builds(Advance, minutes=st.sampled_from([1, 10, 31, 24 * 60])),
    st.builds(Staff, target=st.sampled_from(FulfilmentState)),
)


# --- reading the database ----------------------------------------------------------------


@dataclass
class Snapshot:
    """Everything about the order that the invariants look at, read in one transaction."""

    order: Order
    attempts: list[PaymentAttempt]
    events: list[AuditEvent]
    jobs: list[Job]
    assets: list[Asset]
    notifications: int

    def transitions(self, machine: Machine[Any], subject_id: str) -> list[AuditEvent]:
        """The transition events of one subject of one machine, oldest first."""
        return [
            e
            for e in self.events
            if e.machine == machine.name and e.subject_id == subject_id and e.event == "transition"
        ]

    def jobs_of(self, kind: str) -> list[Job]:
        return [j for j in self.jobs if j.kind == kind]


async def snapshot(rt: Runtime, order_id: str) -> Snapshot:
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        attempts = await session.scalars(
            sa.select(PaymentAttempt).where(PaymentAttempt.order_id == order_id)
        )
        events = await session.scalars(
            sa.select(AuditEvent).where(AuditEvent.order_id == order_id).order_by(AuditEvent.id)
        )
        jobs = await session.scalars(sa.select(Job).where(Job.order_id == order_id))
        assets = await session.scalars(sa.select(Asset).where(Asset.order_id == order_id))
        notifications = await session.scalar(sa.select(sa.func.count()).select_from(Notification))
        return Snapshot(
            order,
            list(attempts),
            list(events),
            list(jobs),
            list(assets),
            int(notifications or 0),
        )


async def fingerprint(rt: Runtime) -> list[list[tuple[Any, ...]]]:
    """Every row a payment or fulfilment change could touch, to prove nothing changed."""
    queries: list[sa.Executable] = [
        sa.select(Order.id, Order.payment_status, Order.fulfilment_status, Order.paid_at).order_by(
            Order.id
        ),
        sa.select(
            PaymentAttempt.id,
            PaymentAttempt.state,
            PaymentAttempt.provider_ref,
            PaymentAttempt.confirmed_amount_minor,
            PaymentAttempt.confirmed_currency,
            PaymentAttempt.last_checked_at,
        ).order_by(PaymentAttempt.id),
        sa.select(Job.id, Job.kind, Job.state, Job.attempts, Job.run_after, Job.locked_by).order_by(
            Job.id
        ),
        sa.select(Asset.id, Asset.kind).order_by(Asset.id),
        sa.select(AuditEvent.id).order_by(AuditEvent.id),
        sa.select(Notification.id).order_by(Notification.id),
    ]
    async with rt.db.transaction() as session:
        return [[tuple(row) for row in await session.execute(q)] for q in queries]


async def empty_database(rt: Runtime) -> None:
    """Delete every row, children first: each example starts from an empty database."""
    async with rt.db.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(sa.delete(table))


async def stored_asset(
    rt: Runtime,
    content: bytes,
    kind: AssetKind,
    *,
    order_id: str | None = None,
    product_id: int | None = None,
) -> Asset:
    """Store ``content`` with the runtime's storage; the row to add for it."""

    async def chunks() -> AsyncIterator[bytes]:
        yield content

    stored = await rt.storage.save(new_public_id(), chunks())
    return Asset(
        order_id=order_id,
        product_id=product_id,
        kind=kind,
        storage=rt.storage.name,
        key=stored.key,
        filename=f"{kind.value}.txt",
        media_type="text/plain",
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        created_at=rt.clock.now(),
    )


# --- one example -------------------------------------------------------------------------


@dataclass
class Scenario:
    """One order driven by a sequence of events, with what the test knows on the side."""

    rt: Runtime
    client: httpx.AsyncClient
    run_jobs: Callable[[], Awaitable[int]]
    clock: FrozenClock
    fake: FakeProvider
    generator: RecordingGenerator
    product: Delivery
    order_id: str = ""
    attempts: list[str] = field(default_factory=list)
    sent: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    bodies: set[bytes] = field(default_factory=set)
    # attempts the provider has reported paid in full, and paid at all, at some point
    reported_paid: set[str] = field(default_factory=set)
    reported_success: set[str] = field(default_factory=set)
    # attempts the provider refused to open (checkout answered 502)
    refused_at_start: set[str] = field(default_factory=set)
    # the audit chain of each subject (machine, id) as read at the previous check
    chains: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # staff moved the fulfilment at least once: it need not end where the worker takes it
    staff_acted: bool = False

    # --- setting up

    async def begin(self) -> None:
        """Create the product and an order for it through ``POST /buy``."""
        slug = self.product.value
        async with self.rt.db.transaction() as session:
            product, _tier = await upsert_product(
                session,
                slug=slug,
                title=slug.title(),
                tier_id="std",
                tier_label="Standard",
                price=PRICE,
                requires_review=self.product is Delivery.REVIEWED,
                generator=None if self.product is Delivery.FILE else GENERATOR_NAME,
            )
            product_id = product.id
        if self.product is Delivery.FILE:
            file = await stored_asset(
                self.rt, b"the guide", AssetKind.PRODUCT_FILE, product_id=product_id
            )
            async with self.rt.db.transaction() as session:
                session.add(file)
        response = await self.client.post(
            f"/buy/{slug}/std",
            data={"email": "awa@example.org", "name": "Awa", "organization_name": "Coop"},
        )
        assert response.status_code == 303, response.text
        self.order_id = response.headers["location"].rsplit("/", 1)[1]
        await self.check()

    # --- the events

    async def apply(self, event: Event) -> None:
        match event:
            case Checkout(refused=refused):
                await self.checkout(refused=refused)
            case Settle(attempt=index, outcome=outcome):
                if self.attempts:
                    self.settle(self.attempts[index % len(self.attempts)], outcome)
            case Notify(attempt=index, event_id=event_id):
                if self.attempts:
                    await self.notify(self.attempts[index % len(self.attempts)], str(event_id))
            case Replay(notice=index):
                if self.sent:
                    body, headers = self.sent[index % len(self.sent)]
                    await self.post_notification(body, headers)
            case VisitReturn(cancelled=cancelled):
                params = {"order": self.order_id} | ({"cancelled": "1"} if cancelled else {})
                response = await self.client.get("/payments/fake/return", params=params)
                assert response.status_code == 200, response.text
            case Reconcile(dry_run=True):
                before = await fingerprint(self.rt)
                await reconcile(self.rt, min_age=timedelta(0), dry_run=True)
                assert await fingerprint(self.rt) == before, "a dry run changed the database"
            case Reconcile(dry_run=False):
                await reconcile(self.rt, min_age=timedelta(0))
            case Advance(minutes=minutes):
                self.clock.advance(minutes=minutes)
            case RunJobs():
                await self.run_jobs()
            case Staff(target=target):
                await self.staff_move(target)

    async def checkout(self, *, refused: bool) -> None:
        before = (await snapshot(self.rt, self.order_id)).order.payment_status
        self.fake.refuse_start_with = "E_REFUSED" if refused else None
        try:
            response = await self.client.post(f"/checkout/{self.order_id}/fake")
        finally:
            self.fake.refuse_start_with = None
        after = await snapshot(self.rt, self.order_id)
        new = [a for a in after.attempts if a.id not in self.attempts]
        if before not in PAYABLE:
            assert response.status_code == 409, response.text
            assert new == [], "an attempt was created for an order that cannot be paid"
            return
        assert len(new) == 1
        if refused:
            assert response.status_code == 502, response.text
            assert new[0].state is A.FAILED
            self.refused_at_start.add(new[0].id)
        else:
            assert response.status_code == 303, response.text
            assert new[0].state is A.PENDING
        self.attempts.append(new[0].id)

    def settle(self, attempt_id: str, outcome: Outcome) -> None:
        match outcome:
            case Outcome.WRONG_AMOUNT:
                status, amount = ReportedStatus.SUCCEEDED, Money(PRICE.amount_minor - 1, "XOF")
            case Outcome.WRONG_CURRENCY:
                status, amount = ReportedStatus.SUCCEEDED, Money(PRICE.amount_minor, "XAF")
            case _:
                status, amount = ReportedStatus(outcome.value), PRICE
        self.fake.will_report(attempt_id, status, amount)
        if status is ReportedStatus.SUCCEEDED:
            self.reported_success.add(attempt_id)
            if amount == PRICE:
                self.reported_paid.add(attempt_id)

    async def notify(self, attempt_id: str, event_id: str) -> None:
        reported = self.fake.ledger.get(attempt_id)
        label = reported.status.value if reported else "pending"
        body, headers = self.fake.notification(attempt_id, status=label, event_id=event_id)
        self.sent.append((body, headers))
        await self.post_notification(body, headers)

    async def post_notification(self, body: bytes, headers: dict[str, str]) -> None:
        response = await self.client.post(
            "/payments/fake/notify", content=body, headers=headers, params={"order": self.order_id}
        )
        assert response.status_code == 200, response.text
        expected = "ok (duplicate)" if body in self.bodies else "ok"
        assert response.text == expected, "the same notification must be stored exactly once"
        self.bodies.add(body)

    async def staff_move(self, target: FulfilmentState) -> None:
        """Try a staff move through ``fulfilment.move``; a refusal must change nothing."""
        final: Asset | None = None
        if target is F.FINAL_UPLOADED:
            final = await stored_asset(
                self.rt, b"the final document", AssetKind.FINAL, order_id=self.order_id
            )
        before = await fingerprint(self.rt)
        try:
            async with self.rt.db.transaction() as session:
                order = await lock(session, Order, self.order_id)
                assert order is not None
                is_paid = order.payment_status is P.PAID
                jobs: list[JobSpec] = []
                if final is not None:
                    session.add(final)
                    await session.flush()
                if target is F.QUEUED:
                    rounds = await session.scalar(
                        sa.select(sa.func.count())
                        .select_from(Job)
                        .where(Job.order_id == order.id, Job.kind == job_kinds.GENERATE)
                    )
                    jobs.append(job_kinds.generate_job(order.id, round_=int(rounds or 0) + 1))
                moved = await fulfilment.move(
                    self.rt, session, order, target, actor="staff:test", jobs=jobs
                )
        except IllegalTransition:
            assert await fingerprint(self.rt) == before, "a refused move changed the database"
        else:
            assert is_paid or target not in NEEDS_PAYMENT, f"{target} accepted for an unpaid order"
            self.staff_acted = self.staff_acted or moved

    # --- the invariants

    async def check(self) -> None:
        snap = await snapshot(self.rt, self.order_id)
        order = snap.order
        is_paid = order.payment_status is P.PAID
        status = (await self.client.get(f"/orders/{self.order_id}/status")).json()
        assert status["payment"] == order.payment_status.value
        assert status["fulfilment"] == order.fulfilment_status.value

        # nothing is generated, published or downloadable unless the order is PAID
        if not is_paid:
            assert order.fulfilment_status not in NEEDS_PAYMENT, order.fulfilment_status
            assert not [a for a in snap.assets if a.kind in (AssetKind.DRAFT, AssetKind.FINAL)]
        assert status["downloadable"] is (is_paid and order.fulfilment_status in DELIVERABLE)
        unpaid_generations = [c for c in self.generator.calls if c[1] is not P.PAID]
        assert not unpaid_generations, f"generated for an unpaid order: {unpaid_generations}"
        if order.fulfilment_status in DELIVERABLE and order.product.requires_review:
            assert [a for a in snap.assets if a.kind is AssetKind.FINAL], "published unreviewed"

        # a payment is confirmed at most once
        succeeded = [a for a in snap.attempts if a.state is A.SUCCEEDED]
        assert len(succeeded) <= 1, "two attempts of one order succeeded"
        assert (len(succeeded) == 1) is is_paid
        paid_events = [e for e in snap.transitions(ORDER, order.id) if e.to_state == P.PAID.value]
        assert len(paid_events) == (1 if is_paid else 0), "the order was confirmed twice"
        assert len(snap.jobs_of(job_kinds.FULFIL)) == (1 if is_paid else 0)
        confirmations = [
            j
            for j in snap.jobs_of(job_kinds.EVENT)
            if j.payload.get("event") == "payment_confirmed"
        ]
        assert len(confirmations) == (1 if is_paid else 0)
        # ... and only on the provider's own word
        for attempt in snap.attempts:
            if attempt.state is A.SUCCEEDED:
                assert attempt.id in self.reported_paid, "succeeded without the provider's word"
            if attempt.state is A.REVIEW:
                assert attempt.id in self.reported_success, "in review without a payment"

        # nothing needing payment happened before the payment was confirmed
        paid_at = paid_events[0].id if paid_events else None
        for event in snap.transitions(FULFILMENT, order.id):
            if event.to_state in {s.value for s in NEEDS_PAYMENT}:
                assert paid_at is not None, f"fulfilment {event.to_state}, never paid"
                assert event.id > paid_at, f"fulfilment {event.to_state} before the payment"

        # every transition has exactly one audit event: the chains end at the current states
        self.check_chain(snap, ORDER, order.id, "unpaid", order.payment_status)
        self.check_chain(snap, FULFILMENT, order.id, "received", order.fulfilment_status)
        for attempt in snap.attempts:
            created = [
                e
                for e in snap.events
                if e.machine == ATTEMPT.name and e.subject_id == attempt.id and e.event == "created"
            ]
            assert len(created) == 1, f"attempt {attempt.id} has {len(created)} creation events"
            assert created[0].to_state == A.CREATED.value
            self.check_chain(snap, ATTEMPT, attempt.id, A.CREATED.value, attempt.state)

        # the order's status is the one its attempts imply; an attempt the provider refused
        # to open leaves the order as it was (tests/web/test_buy.py: the order stays UNPAID)
        counted = [
            a.state
            for a in snap.attempts
            if not (a.id in self.refused_at_start and a.state is A.FAILED)
        ]
        implied = derive_payment_status(order.payment_status, counted)
        assert order.payment_status is implied, (
            f"order {order.payment_status.value}, its attempts "
            f"{[a.state.value for a in snap.attempts]} imply {implied.value}"
        )

        # a job that runs out of tries is a failure staff have to see; none should
        dead = [(j.kind, j.last_error) for j in snap.jobs if j.state is JobState.DEAD]
        assert not dead, f"dead jobs: {dead}"

        # every notification was stored once
        assert snap.notifications == len(self.bodies)

    def check_chain(
        self,
        snap: Snapshot,
        machine: Machine[Any],
        subject_id: str,
        start: str,
        current: enum.Enum,
    ) -> None:
        """The subject's audit events form one legal chain from ``start`` to ``current``.

        The chain only grows: what was seen at the previous check is still its beginning.
        """
        chain = [start]
        state_type = type(current)
        for event in snap.transitions(machine, subject_id):
            assert event.from_state == chain[-1], (
                f"{machine.name} {subject_id}: audit chain {chain} then "
                f"{event.from_state} -> {event.to_state}"
            )
            assert event.to_state is not None
            assert state_type(event.to_state) in machine.moves[state_type(event.from_state)]
            chain.append(event.to_state)
        assert chain[-1] == current.value, (
            f"{machine.name} {subject_id} is {current.value}, its audit trail says {chain}"
        )
        key = (machine.name, subject_id)
        seen = self.chains.get(key, [])
        assert chain[: len(seen)] == seen, f"audit trail rewritten: was {seen}, now {chain}"
        self.chains[key] = chain

    # --- the end of the story

    async def settle_down(self) -> None:
        """The provider's last word, a day later: the reconciler and the worker finish up.

        The provider notifies once more about every attempt it settled; those it never
        settled are the reconciler's, which expires them once their payment page is gone.
        """
        for attempt_id in self.attempts:
            if attempt_id in self.fake.ledger:
                await self.notify(attempt_id, "last")
        self.clock.advance(days=1)
        await reconcile(self.rt, min_age=timedelta(0))
        await self.run_jobs()
        await self.check()

        snap = await snapshot(self.rt, self.order_id)
        order = snap.order
        by_id = {a.id: a for a in snap.attempts}
        for attempt_id in self.attempts:
            state = by_id[attempt_id].state
            assert state not in OPEN_ATTEMPTS, f"attempt {attempt_id} still {state.value}"
            reported = self.fake.ledger.get(attempt_id)
            if reported is not None and reported.status is ReportedStatus.SUCCEEDED:
                # the buyer's money is never dropped: paid, or in front of staff
                assert state in (A.SUCCEEDED, A.REVIEW), f"reported paid, attempt {state.value}"
        for job in snap.jobs:
            assert job.state is JobState.DONE, f"job {job.kind} {job.state.value}: {job.last_error}"
            assert not job.last_error or job.last_error.startswith(GAVE_UP), job.last_error
        if order.payment_status is P.PAID and not self.staff_acted:
            assert order.fulfilment_status is self.expected_fulfilment()
        if order.payment_status is not P.PAID and not self.staff_acted:
            assert order.fulfilment_status is F.RECEIVED

    def expected_fulfilment(self) -> FulfilmentState:
        if self.product is Delivery.FILE:
            return F.PUBLISHED
        if self.generator.fails:
            return F.GENERATION_FAILED
        return F.DRAFT_READY if self.product is Delivery.REVIEWED else F.PUBLISHED


@settings(
    max_examples=40,
    deadline=None,
    # the gd_* fixtures live for the whole test: each example empties the database and
    # resets the fake provider and the generator before it starts
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    product=st.sampled_from(Delivery),
    generator_fails=st.booleans(),
    first=st.builds(Checkout, refused=st.sampled_from([False, False, False, True])),
    events=st.lists(EVENTS, min_size=4, max_size=20),
)
# the provider refuses to open the first payment
@example(product=Delivery.FILE, generator_fails=False, first=Checkout(refused=True), events=[])
# two attempts both paid: one confirms the order, the other waits for a refund
@example(
    product=Delivery.FILE,
    generator_fails=False,
    first=Checkout(refused=False),
    events=[
        Checkout(refused=False),
        Settle(1, Outcome.SUCCEEDED),
        Settle(0, Outcome.SUCCEEDED),
        Notify(1, 1),
        Notify(0, 1),
        RunJobs(),
        Replay(0),
        RunJobs(),
    ],
)
# abandoned, expired by the reconciler, then confirmed late: the money is not dropped
@example(
    product=Delivery.GENERATED,
    generator_fails=False,
    first=Checkout(refused=False),
    events=[
        Advance(31),
        Reconcile(dry_run=True),
        Reconcile(dry_run=False),
        Settle(0, Outcome.SUCCEEDED),
        VisitReturn(cancelled=False),
        Notify(0, 1),
        RunJobs(),
    ],
)
# the provider changes its mind: a late failure never undoes a success or a failure
@example(
    product=Delivery.FILE,
    generator_fails=False,
    first=Checkout(refused=False),
    events=[
        Checkout(refused=False),
        Settle(0, Outcome.SUCCEEDED),
        Settle(1, Outcome.CANCELLED),
        Notify(0, 1),
        Notify(1, 1),
        RunJobs(),
        Settle(0, Outcome.FAILED),
        Settle(1, Outcome.EXPIRED),
        Notify(0, 2),
        Notify(1, 2),
        RunJobs(),
    ],
)
# underpaid: review, nothing generated; staff cannot publish or upload a final
@example(
    product=Delivery.REVIEWED,
    generator_fails=False,
    first=Checkout(refused=False),
    events=[
        Settle(0, Outcome.WRONG_AMOUNT),
        Notify(0, 1),
        RunJobs(),
        Staff(F.FINAL_UPLOADED),
        Staff(F.PUBLISHED),
        Checkout(refused=False),
    ],
)
# reviewed product: a draft, then staff upload the final and publish
@example(
    product=Delivery.REVIEWED,
    generator_fails=False,
    first=Checkout(refused=False),
    events=[
        Settle(0, Outcome.SUCCEEDED),
        VisitReturn(cancelled=False),
        RunJobs(),
        Staff(F.PUBLISHED),
        Staff(F.FINAL_UPLOADED),
        Staff(F.PUBLISHED),
    ],
)
async def test_invariants_hold_after_every_event(
    gd_backend: str,
    gd_runtime: Runtime,
    gd_client: httpx.AsyncClient,
    gd_run_jobs: Callable[[], Awaitable[int]],
    gd_clock: FrozenClock,
    gd_fake_provider: FakeProvider,
    generator: RecordingGenerator,
    product: Delivery,
    generator_fails: bool,
    first: Checkout,
    events: Sequence[Event],
) -> None:
    await empty_database(gd_runtime)
    gd_fake_provider.ledger.clear()
    gd_fake_provider.started.clear()
    generator.runtime = gd_runtime
    generator.fails = generator_fails
    generator.calls.clear()
    scenario = Scenario(
        gd_runtime, gd_client, gd_run_jobs, gd_clock, gd_fake_provider, generator, product
    )
    await scenario.begin()
    for event in [first, *events]:
        await scenario.apply(event)
        await scenario.check()
    await scenario.settle_down()
