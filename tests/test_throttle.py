"""Rate counters: counted before the work, one count per attempt even in parallel."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from gated_delivery import throttle
from gated_delivery.runtime import Runtime
from gated_delivery.testing.clock import FrozenClock

QUIET = timedelta(minutes=15)


def rule(key: str = "test:a", free: int = 3, **kwargs: object) -> throttle.Rule:
    delay = throttle.doubling(timedelta(minutes=1), timedelta(minutes=15))
    return throttle.Rule(key, free, QUIET, delay, **kwargs)  # type: ignore[arg-type]


async def take(rt: Runtime, *rules: throttle.Rule) -> throttle.Taken:
    async with rt.db.transaction() as session:
        return await throttle.take(session, list(rules), now=rt.clock.now())


async def test_free_attempts_then_a_doubling_delay(gd_runtime: Runtime) -> None:
    clock = gd_runtime.clock
    assert isinstance(clock, FrozenClock)
    outcomes = [await take(gd_runtime, rule()) for _ in range(4)]
    assert [o.allowed for o in outcomes] == [True, True, True, False]
    assert [(r.key, w) for r, w in outcomes[2].started] == [("test:a", timedelta(minutes=1))]
    assert outcomes[3].retry_after == timedelta(minutes=1)
    clock.advance(minutes=1)
    fourth = await take(gd_runtime, rule())
    assert fourth.allowed
    assert fourth.started[0][1] == timedelta(minutes=2)
    clock.advance(minutes=1)
    assert not (await take(gd_runtime, rule())).allowed  # the delay doubled
    clock.advance(minutes=16)  # quiet for longer than the window: back to zero
    assert [(await take(gd_runtime, rule())).allowed for _ in range(3)] == [True, True, True]


async def test_a_blocked_rule_counts_nothing_on_the_others(gd_runtime: Runtime) -> None:
    for _ in range(2):
        await take(gd_runtime, rule("test:a", free=2))
    refused = await take(gd_runtime, rule("test:a", free=2), rule("test:b", free=2))
    assert not refused.allowed
    # test:b was not counted by the refused attempt: two more are free
    assert (await take(gd_runtime, rule("test:b", free=2))).started == []


async def test_a_trusted_counter_lifts_the_rules_that_name_it(gd_runtime: Runtime) -> None:
    wide = rule("test:wide", free=1, exempt_if_trusted="test:pair")
    await take(gd_runtime, rule("test:pair"), wide)
    assert not (await take(gd_runtime, rule("test:pair"), wide)).allowed
    async with gd_runtime.db.transaction() as session:
        await throttle.forgive(session, "test:pair", trust=True)
    assert all([(await take(gd_runtime, rule("test:pair"), wide)).allowed for _ in range(2)])


async def test_parallel_attempts_get_exactly_the_free_ones(gd_runtime: Runtime) -> None:
    outcomes = await asyncio.gather(*(take(gd_runtime, rule(free=5)) for _ in range(40)))
    assert sum(o.allowed for o in outcomes) == 5


async def test_purge_keeps_trusted_and_recent_counters(gd_runtime: Runtime) -> None:
    await take(gd_runtime, rule("test:old"))
    await take(gd_runtime, rule("test:trusted"))
    async with gd_runtime.db.transaction() as session:
        await throttle.forgive(session, "test:trusted", trust=True)
    gd_runtime.clock.advance(days=2)  # type: ignore[attr-defined]
    await take(gd_runtime, rule("test:new"))
    async with gd_runtime.db.transaction() as session:
        removed = await throttle.purge_quiet(
            session, before=gd_runtime.clock.now() - timedelta(days=1)
        )
    assert removed == 1
