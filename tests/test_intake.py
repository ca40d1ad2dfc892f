"""The notification intake: stored once, one check queued, nothing for an unknown attempt."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gated_delivery import intake, job_kinds
from gated_delivery.checkout import start_attempt
from gated_delivery.config import CoreSettings
from gated_delivery.models import Job, Notification
from gated_delivery.plugin_types import NotificationRef
from gated_delivery.runtime import Runtime
from gated_delivery.testing import make_order


@pytest.fixture
def gd_settings(gd_settings: CoreSettings) -> CoreSettings:
    return gd_settings.model_copy(update={"job_max_attempts": 4})


async def an_attempt(rt: Runtime) -> str:
    order = await make_order(rt)
    return (await start_attempt(rt, order.id, "fake")).attempt_id


async def receive(rt: Runtime, attempt_id: str, key: str, provider: str = "fake") -> bool:
    ref = NotificationRef(attempt_id=attempt_id, dedupe_key=key, body_redacted="{}")
    return await intake.store_and_queue(rt.db, provider, ref, now=rt.clock.now())


async def stored(rt: Runtime) -> tuple[list[str | None], list[tuple[str, int]]]:
    async with rt.db.transaction() as session:
        notes = await session.execute(sa.select(Notification.attempt_id).order_by(Notification.id))
        jobs = await session.execute(
            sa.select(Job.kind, Job.max_attempts).where(Job.kind == job_kinds.VERIFY)
        )
        return list(notes.scalars()), [(k, n) for k, n in jobs.all()]


async def test_a_new_notification_is_stored_and_queues_one_check(gd_runtime: Runtime) -> None:
    attempt_id = await an_attempt(gd_runtime)
    assert await receive(gd_runtime, attempt_id, "evt-1") is True
    # the check gets GD_JOB_MAX_ATTEMPTS on SQLite and in PostgreSQL's single statement alike
    assert await stored(gd_runtime) == ([attempt_id], [(job_kinds.VERIFY, 4)])


async def test_the_same_notification_again_is_a_duplicate(gd_runtime: Runtime) -> None:
    attempt_id = await an_attempt(gd_runtime)
    assert await receive(gd_runtime, attempt_id, "evt-1") is True
    assert await receive(gd_runtime, attempt_id, "evt-1") is False
    assert await receive(gd_runtime, attempt_id, "evt-2") is True
    notes, jobs = await stored(gd_runtime)
    assert notes == [attempt_id, attempt_id]
    assert len(jobs) == 2


@pytest.mark.parametrize("case", ["unknown attempt", "another provider's attempt"])
async def test_a_notification_for_no_attempt_of_ours_is_kept_and_queues_nothing(
    case: str, gd_runtime: Runtime
) -> None:
    attempt_id = await an_attempt(gd_runtime)
    if case == "unknown attempt":
        assert await receive(gd_runtime, "NoSuchAttempt000000000", "evt-1") is True
    else:
        assert await receive(gd_runtime, attempt_id, "evt-1", provider="other") is True
    assert await stored(gd_runtime) == ([None], [])


def test_a_long_key_is_hashed_never_cut() -> None:
    short = "k" * intake.MAX_DEDUPE_KEY
    assert intake.dedupe_key(short) == short
    long_one, other = short + "a", short + "b"
    assert intake.dedupe_key(long_one).startswith("sha256:")
    assert intake.dedupe_key(long_one) != intake.dedupe_key(other)
    assert len(intake.dedupe_key(long_one)) <= intake.MAX_DEDUPE_KEY
