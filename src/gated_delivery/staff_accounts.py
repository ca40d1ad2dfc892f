"""Staff accounts of the built-in login: argon2id password hashes, login checks, rate limits.

Each login attempt is counted (``throttle.take``) before its password is checked, on three
counters: the (account, address) pair, the account from any address, and the address for
any account. Past its free attempts a counter waits a delay that doubles with each further
attempt, capped, instead of locking for good; and a pair that has logged in before is
exempt from the two wider counters, so an attacker elsewhere (or behind the same office
address) delays only the addresses that never logged in. Every start of a delay is an
audit event (``lockout``); counters hold keyed hashes, never an e-mail or an address.

Password hashing and checking run in a worker thread: argon2id is slow on purpose, and the
event loop must keep serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import audit_names, throttle
from gated_delivery.errors import InvalidInput, NotFound
from gated_delivery.models import AuditEvent, StaffAccount
from gated_delivery.orders import check_email
from gated_delivery.runtime import Runtime
from gated_delivery.text import check_single_line
from gated_delivery.transitions import audit

#: argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (64 MiB, t=3).
HASHER: Final = PasswordHasher()
MIN_PASSWORD_LENGTH: Final = 12
#: Attempts before a delay: per (account, address), per account, per client address.
FAILURES_PER_PAIR: Final = 5
FAILURES_PER_ACCOUNT: Final = 20
FAILURES_PER_CLIENT: Final = 20
#: A counter resets after this long without an attempt.
LOCKOUT_WINDOW: Final = timedelta(minutes=15)
#: The first delay past the free attempts; it doubles with each attempt, up to the cap.
FIRST_DELAY: Final = timedelta(minutes=1)
MAX_DELAY: Final = timedelta(minutes=15)
LOGIN_MACHINE: Final = audit_names.STAFF_LOGIN
# verified when the e-mail is unknown, so that an unknown address takes as long as a known one
_DUMMY_HASH: Final = HASHER.hash("not a real password, only here to spend time")


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: the account, or why not (``rate_limited`` or ``bad``)."""

    account: StaffAccount | None
    refusal: str = ""


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, or ``InvalidInput`` if it is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return HASHER.hash(password)


def keyed_hash(rt: Runtime, purpose: str, value: str) -> str:
    """A keyed hash of ``value`` for counting in the audit trail without storing it."""
    digest = hmac.new(rt.settings.secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


async def create_account(
    rt: Runtime, email: str, password: str, *, display_name: str = ""
) -> StaffAccount:
    """Add a staff account; ``InvalidInput`` if the address is taken or the password short."""
    email = check_email(email).lower()
    name = check_single_line(display_name.strip()[:200], field="name")
    password_hash = await asyncio.to_thread(hash_password, password)
    async with rt.db.transaction() as session:
        taken = await session.execute(sa.select(StaffAccount.id).where(StaffAccount.email == email))
        if taken.scalar_one_or_none() is not None:
            raise InvalidInput(f"a staff account for {email} already exists", field="email")
        account = StaffAccount(
            email=email,
            display_name=name,
            password_hash=password_hash,
            created_at=rt.clock.now(),
        )
        session.add(account)
        await session.flush()
        _audit_account(rt, session, account.id, "account_created", "cli")
        return account


async def set_password(rt: Runtime, email: str, password: str, *, actor: str = "cli") -> None:
    """Give an account a new password and end its sessions; ``NotFound`` if there is none."""
    password_hash = await asyncio.to_thread(hash_password, password)
    async with rt.db.transaction() as session:
        account = await _by_email(session, email)
        account.password_hash = password_hash
        account.session_version += 1
        _audit_account(rt, session, account.id, "password_changed", actor)


async def set_admin(rt: Runtime, email: str, is_admin: bool, *, actor: str = "cli") -> None:
    """Grant (or take back) the right to manage webhook endpoints on the staff pages."""
    async with rt.db.transaction() as session:
        account = await _by_email(session, email)
        account.is_admin = is_admin
        _audit_account(
            rt, session, account.id, "admin_granted" if is_admin else "admin_revoked", actor
        )


async def disable_account(rt: Runtime, email: str, *, actor: str = "cli") -> None:
    """Deactivate an account and end its sessions; ``NotFound`` if there is none."""
    async with rt.db.transaction() as session:
        account = await _by_email(session, email)
        account.is_active = False
        account.session_version += 1
        _audit_account(rt, session, account.id, "account_disabled", actor)


async def end_sessions(rt: Runtime, account_id: str, *, actor: str, event: str = "logout") -> None:
    """End every live session of an account (logout does it: a copied cookie dies too)."""
    async with rt.db.transaction() as session:
        await session.execute(
            sa.update(StaffAccount)
            .where(StaffAccount.id == account_id)
            .values(session_version=StaffAccount.session_version + 1)
        )
        _audit_account(rt, session, account_id, event, actor)


async def _by_email(session: AsyncSession, email: str) -> StaffAccount:
    email = check_email(email).lower()
    account = (
        await session.execute(
            sa.select(StaffAccount).where(StaffAccount.email == email).with_for_update()
        )
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(f"no staff account for {email}; create it with `staff create-user`")
    return account


def _audit_account(
    rt: Runtime, session: AsyncSession, account_id: str, event: str, actor: str
) -> None:
    login_event(session, rt.clock.now(), account_id, event, actor)


def login_event(
    session: AsyncSession,
    now: datetime,
    subject: str,
    event: str,
    actor: str,
    *,
    reason: str = "",
    data: dict[str, object] | None = None,
) -> None:
    """Add one event of the ``staff login`` machine (logins, failures, lockouts, changes)."""
    audit(
        session,
        now=now,
        order_id=None,
        machine=LOGIN_MACHINE,
        subject_id=subject,
        event=event,
        actor=actor,
        reason=reason,
        data=data,
    )


async def get_active(rt: Runtime, account_id: str) -> StaffAccount | None:
    """The active account with this id, or None (unknown or deactivated)."""
    async with rt.db.transaction() as session:
        account = await session.get(StaffAccount, account_id)
    return account if account is not None and account.is_active else None


def login_rules(rt: Runtime, email: str, client_ip: str) -> list[throttle.Rule]:
    """The three counters of a login attempt by ``email`` from ``client_ip``."""
    pair = "login-pair:" + keyed_hash(rt, "staff-pair", f"{email}\n{client_ip}")
    delay = throttle.doubling(FIRST_DELAY, MAX_DELAY)
    return [
        throttle.Rule(pair, FAILURES_PER_PAIR, LOCKOUT_WINDOW, delay, scope="account+address"),
        throttle.Rule(
            "login-account:" + keyed_hash(rt, "staff-account", email),
            FAILURES_PER_ACCOUNT,
            LOCKOUT_WINDOW,
            delay,
            scope="account",
            exempt_if_trusted=pair,
        ),
        throttle.Rule(
            "login-client:" + keyed_hash(rt, "staff-client", client_ip),
            FAILURES_PER_CLIENT,
            LOCKOUT_WINDOW,
            delay,
            scope="address",
            exempt_if_trusted=pair,
        ),
    ]


async def log_in(rt: Runtime, email: str, password: str, client_ip: str) -> LoginResult:
    """Check a login: counted first, then the password (in a thread); outcomes audited."""
    now = rt.clock.now()
    email = email.strip().lower()[:320]
    rules = login_rules(rt, email, client_ip)
    client_key = keyed_hash(rt, "staff-client", client_ip)
    async with rt.db.transaction() as session:
        taken = await throttle.take(session, rules, now=now)
        account = (
            await session.execute(sa.select(StaffAccount).where(StaffAccount.email == email))
        ).scalar_one_or_none()
    if not taken.allowed:
        return LoginResult(None, "rate_limited")
    subject = account.id if account else rules[1].key.split(":", 1)[1]
    stored = account.password_hash if account else None
    matches = await asyncio.to_thread(_password_matches, stored, password)
    if not matches or account is None or not account.is_active:
        # the delays were set when the attempt was counted; a failure makes them lockouts
        await _record_failure(rt, subject, client_key, taken.started)
        return LoginResult(None, "bad")
    rehashed = (
        await asyncio.to_thread(HASHER.hash, password)
        if HASHER.check_needs_rehash(account.password_hash)  # parameters were raised since
        else None
    )
    async with rt.db.transaction() as session:
        await throttle.forgive(session, rules[0].key, trust=True)
        fresh = await session.get(StaffAccount, account.id)
        assert fresh is not None
        fresh.last_login_at = now
        if rehashed is not None:
            fresh.password_hash = rehashed
        actor = f"staff:{account.email}"
        login_event(session, now, account.id, "login", actor, data={"client": client_key})
        return LoginResult(fresh)


def _password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _audit_lockout(
    session: AsyncSession,
    now: datetime,
    subject: str,
    scope: str,
    wait: timedelta,
    client_key: str,
) -> None:
    seconds = int(wait.total_seconds())
    login_event(
        session,
        now,
        subject,
        "lockout",
        "throttle",
        reason=f"logins per {scope} delayed {seconds} s",
        data={"client": client_key, "scope": scope, "seconds": seconds},
    )


async def recent_lockouts(rt: Runtime, since: datetime) -> list[AuditEvent]:
    """The lockout events since ``since``, newest first (``gated-delivery staff lockouts``)."""
    async with rt.db.transaction() as session:
        found = await session.execute(
            sa.select(AuditEvent)
            .where(
                AuditEvent.machine == LOGIN_MACHINE,
                AuditEvent.event == "lockout",
                AuditEvent.created_at >= since,
            )
            .order_by(AuditEvent.id.desc())
            .limit(500)
        )
        return list(found.scalars())


async def _record_failure(
    rt: Runtime, subject: str, client_key: str, started: list[tuple[throttle.Rule, timedelta]]
) -> None:
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        login_event(session, now, subject, "failed", "anonymous", data={"client": client_key})
        for rule, wait in started:
            _audit_lockout(session, now, subject, rule.scope, wait, client_key)
