"""Staff logins: counted before the password is checked, delays instead of lockouts."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from gated_delivery import staff_accounts
from gated_delivery.errors import InvalidInput
from gated_delivery.models import AuditEvent, StaffAccount
from gated_delivery.runtime import Runtime

EMAIL = "lea@example.org"
PASSWORD = "correct horse battery staple"


@pytest.fixture
async def account(gd_runtime: Runtime) -> StaffAccount:
    return await staff_accounts.create_account(gd_runtime, EMAIL, PASSWORD)


async def events(rt: Runtime, event: str) -> list[AuditEvent]:
    async with rt.db.transaction() as session:
        found = await session.execute(
            sa.select(AuditEvent).where(
                AuditEvent.machine == staff_accounts.LOGIN_MACHINE, AuditEvent.event == event
            )
        )
        return list(found.scalars())


async def test_parallel_guesses_evaluate_at_most_the_free_attempts(
    gd_runtime: Runtime, account: StaffAccount
) -> None:
    guesses = [
        staff_accounts.log_in(gd_runtime, EMAIL, f"wrong guess number {n}", "203.0.113.7")
        for n in range(60)
    ]
    results = await asyncio.gather(*guesses)
    right = await staff_accounts.log_in(gd_runtime, EMAIL, PASSWORD, "203.0.113.7")
    # every evaluated password leaves a "failed" (or "login") event: that is the count
    evaluated = len(await events(gd_runtime, "failed")) + len(await events(gd_runtime, "login"))
    assert evaluated <= staff_accounts.FAILURES_PER_PAIR
    assert sum(r.refusal == "bad" for r in results) == evaluated
    assert sum(r.refusal == "rate_limited" for r in results) == 60 - evaluated
    assert right.account is None
    assert right.refusal == "rate_limited"
    lockouts = await events(gd_runtime, "lockout")
    assert lockouts
    assert all(e.subject_id == account.id for e in lockouts)
    assert all(EMAIL not in str(e.data) and "203.0.113.7" not in str(e.data) for e in lockouts)


async def test_the_owner_at_a_known_address_is_not_locked_out_by_others(
    gd_runtime: Runtime, account: StaffAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff_accounts, "FAILURES_PER_ACCOUNT", 4)  # fewer slow hashes
    assert (await staff_accounts.log_in(gd_runtime, EMAIL, PASSWORD, "198.51.100.1")).account
    # guesses from many other addresses put the account as a whole behind a delay
    for n in range(staff_accounts.FAILURES_PER_ACCOUNT):
        await staff_accounts.log_in(gd_runtime, EMAIL, "wrong password here", f"203.0.113.{n}")
    stranger = await staff_accounts.log_in(gd_runtime, EMAIL, PASSWORD, "192.0.2.50")
    assert stranger.refusal == "rate_limited"
    owner = await staff_accounts.log_in(gd_runtime, EMAIL, PASSWORD, "198.51.100.1")
    assert owner.account is not None


async def test_guesses_behind_one_address_do_not_lock_its_known_staff(
    gd_runtime: Runtime, account: StaffAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff_accounts, "FAILURES_PER_CLIENT", 4)  # fewer slow hashes
    office = "198.51.100.9"
    assert (await staff_accounts.log_in(gd_runtime, EMAIL, PASSWORD, office)).account
    for n in range(staff_accounts.FAILURES_PER_CLIENT + 2):
        await staff_accounts.log_in(gd_runtime, f"guess{n}@example.org", "wrong pw 123", office)
    newcomer = await staff_accounts.create_account(gd_runtime, "awa@example.org", PASSWORD)
    refused = await staff_accounts.log_in(gd_runtime, newcomer.email, PASSWORD, office)
    assert refused.refusal == "rate_limited"  # never logged in from there: delayed
    assert (await staff_accounts.log_in(gd_runtime, EMAIL, PASSWORD, office)).account


async def test_the_delay_grows_and_then_lets_the_owner_in(
    gd_runtime: Runtime, account: StaffAccount
) -> None:
    for _ in range(staff_accounts.FAILURES_PER_PAIR):
        await staff_accounts.log_in(gd_runtime, EMAIL, "wrong password here", "192.0.2.1")
    gd_runtime.clock.advance(seconds=61)  # type: ignore[attr-defined]
    await staff_accounts.log_in(gd_runtime, EMAIL, "wrong password here", "192.0.2.1")
    gd_runtime.clock.advance(seconds=61)  # type: ignore[attr-defined]
    still = await staff_accounts.log_in(gd_runtime, EMAIL, PASSWORD, "192.0.2.1")
    assert still.refusal == "rate_limited"  # the second delay is two minutes
    gd_runtime.clock.advance(seconds=61)  # type: ignore[attr-defined]
    assert (await staff_accounts.log_in(gd_runtime, EMAIL, PASSWORD, "192.0.2.1")).account
    seconds = sorted(e.data["seconds"] for e in await events(gd_runtime, "lockout"))
    assert seconds == [60, 120]


async def test_password_change_and_disable_raise_the_session_version(
    gd_runtime: Runtime, account: StaffAccount
) -> None:
    await staff_accounts.set_password(gd_runtime, EMAIL, "another long password")
    await staff_accounts.disable_account(gd_runtime, EMAIL)
    async with gd_runtime.db.transaction() as session:
        fresh = await session.get(StaffAccount, account.id)
    assert fresh is not None
    assert fresh.session_version == 2
    assert not fresh.is_active
    assert await staff_accounts.get_active(gd_runtime, account.id) is None


async def test_a_display_name_with_control_characters_is_refused(gd_runtime: Runtime) -> None:
    with pytest.raises(InvalidInput, match="U\\+001B"):
        await staff_accounts.create_account(
            gd_runtime, "x@example.org", PASSWORD, display_name="\x1b]0;pwned\x07"
        )
