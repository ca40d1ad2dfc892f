"""Who may do what: staff accounts, buyers' purchases links, rate counters, process heartbeats."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gated_delivery.ids import new_public_id
from gated_delivery.models.base import Base, utcnow


class StaffAccount(Base):
    """A staff member of the built-in login (a host app may authenticate staff its own way).

    Only an argon2id hash of the password is stored; ``email`` is kept lower-cased.
    """

    __tablename__ = "gd_staff_user"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # in every session cookie; raised on logout, new password or deactivation, it ends
    # every session issued before (a stolen cookie dies with them)
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # may manage webhook endpoints on the staff pages (they receive order data)
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()


class PurchasesLink(Base):
    """One "Mes achats" request: the database half of its signed, single-use e-mail link.

    ``email`` is kept only when the address has orders (a link was mailed); ``email_key``
    and ``client`` are keyed hashes, enough to rate-limit and useless to anyone else.
    """

    __tablename__ = "gd_purchases_link"
    __table_args__ = (Index("ix_gd_purchases_link_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_public_id)
    email: Mapped[str | None] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateCounter(Base):
    """One counter of a rate limit (a login pair, an address, an inquiry client).

    ``key`` is a keyed hash with a purpose prefix, never the e-mail or address itself. A
    counter past its free attempts sets ``blocked_until``; one left quiet resets.
    """

    __tablename__ = "gd_rate_counter"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None] = mapped_column()
    # attempts refused while blocked, since the last one let through (reported, then reset)
    refused: Mapped[int] = mapped_column(default=0, server_default="0")
    # a login pair (account, address) that has logged in: exempt from the wider limits
    trusted: Mapped[bool] = mapped_column(default=False)


class Heartbeat(Base):
    """A process that runs or feeds the jobs, as last seen: one row per kind and name.

    ``kind`` is ``worker`` (embedded or ``gated-delivery worker``), ``relay`` or ``celery``;
    ``name`` is the process's host and pid. ``gated-delivery check`` reads ``last_seen``.
    """

    __tablename__ = "gd_heartbeat"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column()
    last_seen: Mapped[datetime] = mapped_column(index=True)
