"""Staff accounts of the built-in login: argon2id password hashes, login checks, rate limits.

Failed logins are audit events (machine ``staff login``), so the rate limit needs no table
of its own and every attempt is on the record. The e-mail and the client address are kept
only as keyed hashes there: enough to count, useless to anyone reading the trail.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery.errors import InvalidInput, NotFound
from gated_delivery.models import AuditEvent, StaffAccount
from gated_delivery.orders import check_email
from gated_delivery.runtime import Runtime
from gated_delivery.transitions import audit

#: argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (64 MiB, t=3).
HASHER: Final = PasswordHasher()
MIN_PASSWORD_LENGTH: Final = 12
#: Failed logins allowed per account, and per client address, in ``LOCKOUT_WINDOW``.
FAILURES_PER_ACCOUNT: Final = 5
FAILURES_PER_CLIENT: Final = 20
LOCKOUT_WINDOW: Final = timedelta(minutes=15)
LOGIN_MACHINE: Final = "staff login"
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
    password_hash = hash_password(password)
    async with rt.db.transaction() as session:
        taken = await session.execute(sa.select(StaffAccount.id).where(StaffAccount.email == email))
        if taken.scalar_one_or_none() is not None:
            raise InvalidInput(f"a staff account for {email} already exists", field="email")
        account = StaffAccount(
            email=email,
            display_name=display_name.strip()[:200],
            password_hash=password_hash,
            created_at=rt.clock.now(),
        )
        session.add(account)
        await session.flush()
        _audit_account(rt, session, account.id, "account_created", "cli")
        return account


async def set_password(rt: Runtime, email: str, password: str, *, actor: str = "cli") -> None:
    """Give an account a new password; ``NotFound`` if there is no account for ``email``."""
    email = check_email(email).lower()
    password_hash = hash_password(password)
    async with rt.db.transaction() as session:
        account = await _by_email(session, email)
        account.password_hash = password_hash
        _audit_account(rt, session, account.id, "password_changed", actor)


async def set_admin(rt: Runtime, email: str, is_admin: bool, *, actor: str = "cli") -> None:
    """Grant (or take back) the right to manage webhook endpoints on the staff pages."""
    async with rt.db.transaction() as session:
        account = await _by_email(session, check_email(email).lower())
        account.is_admin = is_admin
        _audit_account(
            rt, session, account.id, "admin_granted" if is_admin else "admin_revoked", actor
        )


async def _by_email(session: AsyncSession, email: str) -> StaffAccount:
    account = (
        await session.execute(sa.select(StaffAccount).where(StaffAccount.email == email))
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(f"no staff account for {email}; create it with `staff create-user`")
    return account


def _audit_account(
    rt: Runtime, session: AsyncSession, account_id: str, event: str, actor: str
) -> None:
    audit(
        session,
        now=rt.clock.now(),
        order_id=None,
        machine=LOGIN_MACHINE,
        subject_id=account_id,
        event=event,
        actor=actor,
    )


async def get_active(rt: Runtime, account_id: str) -> StaffAccount | None:
    """The active account with this id, or None (unknown or deactivated)."""
    async with rt.db.transaction() as session:
        account = await session.get(StaffAccount, account_id)
    return account if account is not None and account.is_active else None


async def log_in(rt: Runtime, email: str, password: str, client_ip: str) -> LoginResult:
    """Check a login, rate-limited per account and per client; every outcome is audited."""
    now = rt.clock.now()
    email = email.strip().lower()[:320]
    account_key = keyed_hash(rt, "staff-account", email)
    client_key = keyed_hash(rt, "staff-client", client_ip)
    async with rt.db.transaction() as session:
        recent = (
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.machine == LOGIN_MACHINE,
                AuditEvent.event == "failed",
                AuditEvent.created_at > now - LOCKOUT_WINDOW,
            )
        )
        by_account = (
            await session.execute(recent.where(AuditEvent.subject_id == account_key))
        ).scalar_one()
        by_client = (
            await session.execute(recent.where(AuditEvent.data["client"].as_string() == client_key))
        ).scalar_one()
        account = (
            await session.execute(sa.select(StaffAccount).where(StaffAccount.email == email))
        ).scalar_one_or_none()
    if by_account >= FAILURES_PER_ACCOUNT or by_client >= FAILURES_PER_CLIENT:
        await _record(rt, account_key, "rate_limited", client_key)
        return LoginResult(None, "rate_limited")
    if not _password_matches(account.password_hash if account else None, password):
        await _record(rt, account_key, "failed", client_key)
        return LoginResult(None, "bad")
    assert account is not None  # a missing account never matches
    if not account.is_active:
        await _record(rt, account_key, "failed", client_key)
        return LoginResult(None, "bad")
    async with rt.db.transaction() as session:
        fresh = await session.get(StaffAccount, account.id)
        assert fresh is not None
        fresh.last_login_at = now
        if HASHER.check_needs_rehash(fresh.password_hash):
            fresh.password_hash = HASHER.hash(password)  # parameters were raised since
        audit(
            session,
            now=now,
            order_id=None,
            machine=LOGIN_MACHINE,
            subject_id=account.id,
            event="login",
            actor=f"staff:{account.email}",
            data={"client": client_key},
        )
        return LoginResult(fresh)


def _password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def _record(rt: Runtime, account_key: str, event: str, client_key: str) -> None:
    async with rt.db.transaction() as session:
        audit(
            session,
            now=rt.clock.now(),
            order_id=None,
            machine=LOGIN_MACHINE,
            subject_id=account_key,
            event=event,
            actor="anonymous",
            data={"client": client_key},
        )
