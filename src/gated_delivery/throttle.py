"""Rate limits kept in the database, counted before the work they guard is done.

``take`` counts an attempt against one or more counters in the caller's transaction, under
a row lock (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite). So
sixty parallel requests see sixty different counts, and only those within the limit go
on to the expensive or risky part (a password check, an upload). A counter past its free
attempts is blocked for a delay that may grow with each further attempt; refused attempts
are not counted, and a counter left quiet long enough starts again from zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery.db import insert_ignore
from gated_delivery.models import RateCounter


@dataclass(frozen=True)
class Rule:
    """One counter: its key, the attempts allowed, and the delay after them.

    ``delay(k)`` is the wait after the k-th attempt counted from the last free one (k >= 1).
    ``exempt_if_trusted`` names another counter whose ``trusted`` flag lifts this rule.
    """

    key: str
    free: int
    quiet: timedelta
    delay: Callable[[int], timedelta]
    scope: str = ""
    exempt_if_trusted: str | None = None


@dataclass(frozen=True)
class Taken:
    """The outcome of ``take``: allowed or not, and the rules whose delay began now."""

    allowed: bool
    retry_after: timedelta = timedelta(0)
    started: list[tuple[Rule, timedelta]] = field(default_factory=list)
    #: attempts refused since the previous allowed one (on the rules counted now)
    refused_before: int = 0


def doubling(first: timedelta, cap: timedelta) -> Callable[[int], timedelta]:
    """A delay of ``first``, then twice as long after each further attempt, at most ``cap``."""

    def delay(k: int) -> timedelta:
        return min(first * (1 << min(k - 1, 32)), cap)

    return delay


def fixed(wait: timedelta) -> Callable[[int], timedelta]:
    """The same delay after every attempt past the free ones."""
    return lambda _k: wait


async def take(session: AsyncSession, rules: Sequence[Rule], *, now: datetime) -> Taken:
    """Count one attempt on every rule, or on none if any of them is blocked."""
    trust_keys = {r.exempt_if_trusted for r in rules if r.exempt_if_trusted}
    rows = await _locked_rows(session, sorted({r.key for r in rules} | trust_keys), now)
    active = [
        rule
        for rule in rules
        if not (rule.exempt_if_trusted and rows[rule.exempt_if_trusted].trusted)
    ]
    for rule in active:
        row = rows[rule.key]
        if _remaining(row, now) <= timedelta(0) and row.last_attempt_at + rule.quiet <= now:
            row.attempts, row.blocked_until = 0, None
    waits = [wait for r in active if (wait := _remaining(rows[r.key], now)) > timedelta(0)]
    if waits:
        for rule in active:
            rows[rule.key].refused += 1
        return Taken(allowed=False, retry_after=max(waits))
    started = []
    refused_before = max((rows[r.key].refused for r in active), default=0)
    for rule in active:
        row = rows[rule.key]
        row.refused = 0
        row.attempts += 1
        row.last_attempt_at = now
        if row.attempts >= rule.free:
            wait = rule.delay(row.attempts - rule.free + 1)
            row.blocked_until = now + wait
            started.append((rule, wait))
    return Taken(allowed=True, started=started, refused_before=refused_before)


async def forgive(session: AsyncSession, key: str, *, trust: bool = False) -> None:
    """Set a counter back to zero (after a success); ``trust`` marks it trusted too."""
    values: dict[str, object] = {"attempts": 0, "blocked_until": None}
    if trust:
        values["trusted"] = True
    await session.execute(sa.update(RateCounter).where(RateCounter.key == key).values(**values))


async def purge_quiet(session: AsyncSession, *, before: datetime) -> int:
    """Delete untrusted counters with no attempt since ``before`` and no block; how many."""
    result = await session.execute(
        sa.delete(RateCounter).where(
            RateCounter.last_attempt_at < before,
            RateCounter.trusted.is_(False),
            sa.or_(RateCounter.blocked_until.is_(None), RateCounter.blocked_until < before),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _remaining(row: RateCounter, now: datetime) -> timedelta:
    return row.blocked_until - now if row.blocked_until is not None else timedelta(0)


async def _locked_rows(
    session: AsyncSession, keys: list[str], now: datetime
) -> dict[str, RateCounter]:
    for key in keys:
        await insert_ignore(
            session,
            RateCounter,
            {"key": key, "attempts": 0, "last_attempt_at": now, "trusted": False, "refused": 0},
            conflict=["key"],
        )
    # in key order, so two requests sharing counters never wait on each other in a cycle
    query = (
        sa.select(RateCounter)
        .where(RateCounter.key.in_(keys))
        .order_by(RateCounter.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.key: row for row in (await session.execute(query)).scalars()}
