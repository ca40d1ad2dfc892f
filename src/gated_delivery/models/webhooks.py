"""The shop's own systems: webhook endpoints, the events sent to them, each delivery try."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from gated_delivery.ids import new_public_id
from gated_delivery.models.base import Base, utcnow


class WebhookEndpoint(Base):
    """An address of the shop's own systems that receives signed events (Standard Webhooks).

    The signing secret is needed in clear to sign, so it is stored encrypted with a key
    derived from ``GD_SECRET_KEY``; after a rotation the previous one signs too for a day.
    """

    __tablename__ = "gd_webhook_endpoint"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_public_id)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON(), default=list)
    # buyer name and e-mail go out only to endpoints that asked for them
    include_buyer: Mapped[bool] = mapped_column(default=False)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    # the first failure since the last success: five days of it disable the endpoint
    failing_since: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """Something that happened, as sent to endpoints: its id is the ``webhook-id``."""

    __tablename__ = "gd_webhook_event"
    __table_args__ = (Index("ix_gd_webhook_event_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(
        ForeignKey("gd_order.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    """One try at delivering an event to an endpoint: the delivery log."""

    __tablename__ = "gd_webhook_attempt"
    __table_args__ = (
        Index("ix_gd_webhook_attempt_endpoint_id_attempted_at", "endpoint_id", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("gd_webhook_endpoint.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(
        ForeignKey("gd_webhook_event.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column()  # 1 for the first try of this event here
    attempted_at: Mapped[datetime] = mapped_column()
    status_code: Mapped[int | None] = mapped_column()  # None: no answer (timeout, refused)
    duration_ms: Mapped[int] = mapped_column(default=0)
    response_head: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(String(500), default="")
