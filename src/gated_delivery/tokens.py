"""Download links: an itsdangerous-signed token id backed by a database row.

The signature keeps guessed or altered links out before the database is asked; the row holds
what a signature cannot: expiry, uses, revocation. A use is consumed by one conditional
UPDATE, so twenty simultaneous clicks on a single-use link give exactly one file.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import audit_names
from gated_delivery.config import CoreSettings
from gated_delivery.db import lock
from gated_delivery.errors import GatedDeliveryError
from gated_delivery.models import Asset, DownloadToken, Order
from gated_delivery.states import FulfilmentState, PaymentStatus
from gated_delivery.transitions import audit
from gated_delivery.webhooks.emit import emit
from gated_delivery.webhooks.events import order_data

#: One salt per purpose: a signature made for one use never validates for another.
DOWNLOAD_SALT: Final = "gated-delivery/download-link"
DOWNLOADABLE: Final = frozenset({FulfilmentState.PUBLISHED, FulfilmentState.DELIVERED})


class Problem(enum.StrEnum):
    """Why a link does not give its file."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED_UP = "used_up"
    REVOKED = "revoked"
    NOT_PAID = "not_paid"

    @property
    def status_code(self) -> int:
        """The HTTP status for this problem."""
        return STATUS_CODES[self]


#: Unknown is 404 (as a bad signature); gone for good is 410; not paid is 403.
STATUS_CODES: Final = {
    Problem.UNKNOWN: 404,
    Problem.EXPIRED: 410,
    Problem.USED_UP: 410,
    Problem.REVOKED: 410,
    Problem.NOT_PAID: 403,
}


class LinkRefused(GatedDeliveryError):
    """A download link that gives nothing; ``problem`` says why."""

    def __init__(self, problem: Problem, token: DownloadToken | None = None) -> None:
        super().__init__(f"download link refused: {problem.value.replace('_', ' ')}")
        self.problem = problem
        self.token = token


def _serializer(settings: CoreSettings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret, salt=DOWNLOAD_SALT)


def sign(settings: CoreSettings, token_id: str) -> str:
    """The URL-safe signed form of a token id."""
    value: str = _serializer(settings).dumps(token_id)
    return value


def unsign(settings: CoreSettings, signed: str) -> str | None:
    """The token id inside a signed link, or None if the signature is wrong."""
    try:
        token_id = _serializer(settings).loads(signed)
    except BadSignature:
        return None
    return token_id if isinstance(token_id, str) else None


def link(settings: CoreSettings, token_id: str) -> str:
    """The absolute download URL for a token."""
    return f"{settings.base_url}/download/{sign(settings, token_id)}"


async def issue(
    session: AsyncSession,
    settings: CoreSettings,
    *,
    order: Order,
    asset: Asset,
    now: datetime,
    actor: str,
    issued_for: str | None = None,
) -> DownloadToken:
    """Create a token for ``asset`` (TTL and uses from the settings) and audit it."""
    token = DownloadToken(
        order_id=order.id,
        asset_id=asset.id,
        expires_at=now + timedelta(minutes=settings.download_ttl_minutes),
        max_uses=settings.download_max_uses,
        issued_for=issued_for,
        created_at=now,
    )
    session.add(token)
    await session.flush()
    data = {
        "asset_id": asset.id,
        "expires_at": token.expires_at.isoformat(),
        "max_uses": token.max_uses,
    }
    _audit(session, order.id, token.id, "created", now=now, actor=actor, data=data)
    return token


def renew(
    session: AsyncSession,
    settings: CoreSettings,
    token: DownloadToken,
    *,
    now: datetime,
    actor: str,
    reason: str,
) -> None:
    """Give ``token`` a full lifetime (the TTL from the settings) from ``now``, and audit it."""
    token.expires_at = now + timedelta(minutes=settings.download_ttl_minutes)
    data = {"expires_at": token.expires_at.isoformat()}
    _audit(
        session, token.order_id, token.id, "renewed", now=now, actor=actor, reason=reason, data=data
    )


def _audit(
    session: AsyncSession, order_id: str, token_id: str, event: str, *, now: datetime, **fields: Any
) -> None:
    """One audit event about a link; ``fields`` are ``audit``'s (actor, reason, data)."""
    audit(
        session,
        now=now,
        order_id=order_id,
        machine=audit_names.DOWNLOAD_LINK,
        subject_id=token_id,
        event=event,
        **fields,
    )


@dataclass(frozen=True)
class Grant:
    """What a valid link leads to."""

    token: DownloadToken
    order: Order
    asset: Asset


async def check(session: AsyncSession, token_id: str | None, now: datetime) -> Grant:
    """The token's file if the link may be used now; ``LinkRefused`` saying why otherwise.

    Checks in the order a buyer can act on: unknown, revoked, not paid, expired, used up.
    """
    token = await session.get(DownloadToken, token_id) if token_id else None
    if token is None:
        raise LinkRefused(Problem.UNKNOWN)
    if token.revoked_at is not None:
        raise LinkRefused(Problem.REVOKED, token)
    order = await session.get(Order, token.order_id)
    asset = await session.get(Asset, token.asset_id)
    if order is None or asset is None:
        raise LinkRefused(Problem.UNKNOWN)
    if (
        order.payment_status is not PaymentStatus.PAID
        or order.fulfilment_status not in DOWNLOADABLE
    ):
        raise LinkRefused(Problem.NOT_PAID, token)
    if token.expires_at <= now:
        raise LinkRefused(Problem.EXPIRED, token)
    if token.use_count >= token.max_uses:
        raise LinkRefused(Problem.USED_UP, token)
    return Grant(token, order, asset)


async def consume(
    session: AsyncSession,
    token_id: str | None,
    now: datetime,
    evidence: Mapping[str, Any] | None = None,
) -> Grant:
    """Take one use of the link atomically, or raise ``LinkRefused``.

    ``evidence`` joins the audit event of this use (the stamped file's sha256, say).

    One conditional UPDATE decides: concurrent consumers of the last use queue on the row,
    and all but one find the condition false once the winner commits.
    """
    grant = await check(session, token_id, now)  # names the problem when there is one
    # order first, then its token: the lock order every writer of an order follows
    await lock(session, Order, grant.order.id)
    paid = sa.exists().where(
        Order.id == DownloadToken.order_id,
        Order.payment_status == PaymentStatus.PAID,
        Order.fulfilment_status.in_(list(DOWNLOADABLE)),
    )
    taken = await session.execute(
        sa.update(DownloadToken)
        .where(
            DownloadToken.id == grant.token.id,
            DownloadToken.revoked_at.is_(None),
            DownloadToken.expires_at > now,
            DownloadToken.use_count < DownloadToken.max_uses,
            paid,
        )
        .values(use_count=DownloadToken.use_count + 1, last_used_at=now)
        .returning(DownloadToken.use_count)
    )
    use_count = taken.scalar_one_or_none()
    if use_count is None:
        await session.refresh(grant.token)
        await check(session, grant.token.id, now)  # raises with the reason that changed
        raise LinkRefused(Problem.USED_UP, grant.token)  # pragma: no cover - check raised
    grant.token.use_count = use_count
    data = {"use_count": use_count, "max_uses": grant.token.max_uses, **(evidence or {})}
    _audit(session, grant.order.id, grant.token.id, "consumed", now=now, actor="buyer", data=data)
    return grant


async def revoke_all(
    session: AsyncSession, order_id: str, *, now: datetime, actor: str, reason: str
) -> int:
    """Revoke every live token of an order; returns how many were revoked."""
    revoked = await session.execute(
        sa.update(DownloadToken)
        .where(DownloadToken.order_id == order_id, DownloadToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(DownloadToken.id)
    )
    ids = list(revoked.scalars())
    order = await session.get(Order, order_id) if ids else None
    for token_id in ids:
        if order is not None:
            data = {**order_data(order), "token_id": token_id}
            await emit(session, "link.revoked", order, now=now, data=data)
        _audit(session, order_id, token_id, "revoked", now=now, actor=actor, reason=reason)
    return len(ids)
