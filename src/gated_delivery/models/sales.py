"""What is sold and paid: products, orders, attempts, notifications, audit, jobs, assets, links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gated_delivery.errors import MoneyError
from gated_delivery.ids import new_public_id
from gated_delivery.models.base import AssetKind, Base, JobState, utcnow
from gated_delivery.money import Money
from gated_delivery.states import AttemptState, FulfilmentState, PaymentStatus


class Product(Base):
    """Something for sale: a stored file, or a document generated for each buyer.

    Its file, when it has one, is the ``Asset`` of kind PRODUCT_FILE pointing back at it.
    """

    __tablename__ = "gd_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    generator: Mapped[str | None] = mapped_column(String(80))  # plugin name; None: no generation
    requires_review: Mapped[bool] = mapped_column(default=False)
    # minutes after an unpaid order before its one reminder: None follows
    # GD_PAYMENT_REMINDER_MINUTES, 0 sends none for this product
    payment_reminder_minutes: Mapped[int | None] = mapped_column()
    # stamp each delivered PDF or Word file with the buyer's name, e-mail and order id
    stamp_files: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tiers: Mapped[list[PriceTier]] = relationship(
        back_populates="product", order_by="PriceTier.id", lazy="selectin"
    )


class PriceTier(Base):
    """One price of a product (``/buy/<product_slug>/<tier_id>``)."""

    __tablename__ = "gd_price_tier"
    __table_args__ = (
        UniqueConstraint("product_id", "tier_id"),
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("gd_product.id", ondelete="CASCADE"))
    tier_id: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))

    product: Mapped[Product] = relationship(back_populates="tiers")

    @property
    def price(self) -> Money:
        """The tier's price as Money."""
        return Money(self.amount_minor, self.currency)


class Order(Base):
    """One buyer's order for one price tier; its id is the public, unguessable one."""

    __tablename__ = "gd_order"
    __table_args__ = (
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_gd_order_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_public_id)
    product_id: Mapped[int] = mapped_column(ForeignKey("gd_product.id"))
    tier_id: Mapped[str] = mapped_column(String(40))
    # the price is copied at order time: a later price change must not alter this order
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    buyer_name: Mapped[str] = mapped_column(String(200), default="")
    buyer_email: Mapped[str] = mapped_column(String(320))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    payment_status: Mapped[PaymentStatus] = mapped_column(default=PaymentStatus.UNPAID)
    fulfilment_status: Mapped[FulfilmentState] = mapped_column(default=FulfilmentState.RECEIVED)
    paid_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(lazy="joined", innerjoin=True)

    @property
    def price(self) -> Money:
        """What the buyer owes."""
        return Money(self.amount_minor, self.currency)


class PaymentAttempt(Base):
    """One try at paying an order with one provider; its id is our transaction id."""

    __tablename__ = "gd_payment_attempt"
    __table_args__ = (
        # a confirmed payment is confirmed once: one SUCCEEDED attempt per order, enforced here
        Index(
            "uq_gd_payment_attempt_one_success",
            "order_id",
            unique=True,
            sqlite_where=sa.text("state = 'succeeded'"),
            postgresql_where=sa.text("state = 'succeeded'"),
        ),
        Index("ix_gd_payment_attempt_state_created_at", "state", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_public_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("gd_order.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    state: Mapped[AttemptState] = mapped_column(default=AttemptState.CREATED)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    # what the plugin keeps between start and notification (e.g. a notification token)
    provider_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confirmed_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    confirmed_currency: Mapped[str | None] = mapped_column(String(3))
    last_checked_at: Mapped[datetime | None] = mapped_column()
    # the provider's word for the buyer while the attempt is pending ("last try refused...")
    buyer_message: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def price(self) -> Money:
        """The amount this attempt asked the provider for."""
        return Money(self.amount_minor, self.currency)

    @property
    def confirmed_price(self) -> Money | None:
        """What the provider confirmed it received, once it has said."""
        if self.confirmed_amount_minor is None or not self.confirmed_currency:
            return None
        try:
            return Money(self.confirmed_amount_minor, self.confirmed_currency)
        except MoneyError:  # a currency we do not handle: the page shows the raw figures
            return None


class Notification(Base):
    """A webhook that passed authentication, stored before anything acts on it."""

    __tablename__ = "gd_notification"
    __table_args__ = (UniqueConstraint("provider", "dedupe_key"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    attempt_id: Mapped[str | None] = mapped_column(
        ForeignKey("gd_payment_attempt.id", ondelete="SET NULL"), index=True
    )
    body_redacted: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """One line of the audit trail: a transition, a refusal, a staff action."""

    __tablename__ = "gd_audit_event"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    order_id: Mapped[str | None] = mapped_column(
        ForeignKey("gd_order.id", ondelete="CASCADE"), index=True
    )
    machine: Mapped[str] = mapped_column(String(40))  # "payment attempt", "webhook", ...
    subject_id: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """A row of the transactional outbox: committed with the change that asked for it."""

    __tablename__ = "gd_job"
    __table_args__ = (Index("ix_gd_job_state_run_after", "state", "run_after"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # set for jobs that must exist at most once (one fulfilment per order)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    order_id: Mapped[str | None] = mapped_column(
        ForeignKey("gd_order.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[JobState] = mapped_column(default=JobState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()
    locked_by: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class Asset(Base):
    """A stored file: an upload, a draft, a final, or a product's own file."""

    __tablename__ = "gd_asset"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_public_id)
    order_id: Mapped[str | None] = mapped_column(
        ForeignKey("gd_order.id", ondelete="CASCADE"), index=True
    )
    # set for a product's own file (kind PRODUCT_FILE), delivered to every buyer
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("gd_product.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AssetKind] = mapped_column()
    storage: Mapped[str] = mapped_column(String(40))  # backend name
    key: Mapped[str] = mapped_column(String(200))  # generated, never user input
    filename: Mapped[str] = mapped_column(String(255))  # sanitised, display only
    media_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # a job that produced this asset (a draft per attempt, never two)
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # set when a newer draft or final replaces this one; the live one has none
    superseded_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DownloadToken(Base):
    """The database half of a signed download link: expiry, uses, revocation."""

    __tablename__ = "gd_download_token"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_public_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("gd_order.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("gd_asset.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column()
    max_uses: Mapped[int] = mapped_column(default=1)
    use_count: Mapped[int] = mapped_column(default=0)
    revoked_at: Mapped[datetime | None] = mapped_column()
    # the mail job that issued this token: a retried job reuses its token, never adds one
    issued_for: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
