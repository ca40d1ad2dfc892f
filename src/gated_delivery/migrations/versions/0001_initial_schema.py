"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 16:11:32.484436
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "gd_product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("generator", sa.String(length=80), nullable=True),
        sa.Column("requires_review", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_product")),
        sa.UniqueConstraint("slug", name=op.f("uq_gd_product_slug")),
    )
    op.create_table(
        "gd_order",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("tier_id", sa.String(length=40), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("buyer_name", sa.String(length=200), nullable=False),
        sa.Column("buyer_email", sa.String(length=320), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("payment_status", sa.String(length=32), nullable=False),
        sa.Column("fulfilment_status", sa.String(length=32), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_gd_order_amount_positive")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["gd_product.id"], name=op.f("fk_gd_order_product_id_gd_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_order")),
    )
    with op.batch_alter_table("gd_order", schema=None) as batch_op:
        batch_op.create_index("ix_gd_order_created_at", ["created_at"], unique=False)

    op.create_table(
        "gd_price_tier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("tier_id", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_gd_price_tier_amount_positive")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["gd_product.id"],
            name=op.f("fk_gd_price_tier_product_id_gd_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_price_tier")),
        sa.UniqueConstraint(
            "product_id", "tier_id", name=op.f("uq_gd_price_tier_product_id_tier_id")
        ),
    )
    op.create_table(
        "gd_asset",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("storage", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=120), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["gd_order.id"],
            name=op.f("fk_gd_asset_order_id_gd_order"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["gd_product.id"],
            name=op.f("fk_gd_asset_product_id_gd_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_asset")),
        sa.UniqueConstraint("source_key", name=op.f("uq_gd_asset_source_key")),
    )
    with op.batch_alter_table("gd_asset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gd_asset_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gd_asset_product_id"), ["product_id"], unique=False)

    op.create_table(
        "gd_audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("machine", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=True),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["gd_order.id"],
            name=op.f("fk_gd_audit_event_order_id_gd_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_audit_event")),
    )
    with op.batch_alter_table("gd_audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gd_audit_event_order_id"), ["order_id"], unique=False)

    op.create_table(
        "gd_job",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=120), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["gd_order.id"],
            name=op.f("fk_gd_job_order_id_gd_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_job")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_gd_job_dedupe_key")),
    )
    with op.batch_alter_table("gd_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gd_job_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_gd_job_state_run_after", ["state", "run_after"], unique=False)

    op.create_table(
        "gd_payment_attempt",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider_ref", sa.String(length=200), nullable=True),
        sa.Column("provider_data", sa.JSON(), nullable=False),
        sa.Column("confirmed_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("confirmed_currency", sa.String(length=3), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["gd_order.id"],
            name=op.f("fk_gd_payment_attempt_order_id_gd_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_payment_attempt")),
    )
    with op.batch_alter_table("gd_payment_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gd_payment_attempt_order_id"), ["order_id"], unique=False
        )
        batch_op.create_index(
            "ix_gd_payment_attempt_state_created_at", ["state", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_gd_payment_attempt_one_success",
            ["order_id"],
            unique=True,
            sqlite_where=sa.text("state = 'succeeded'"),
            postgresql_where=sa.text("state = 'succeeded'"),
        )

    op.create_table(
        "gd_download_token",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["gd_asset.id"],
            name=op.f("fk_gd_download_token_asset_id_gd_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["gd_order.id"],
            name=op.f("fk_gd_download_token_order_id_gd_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_download_token")),
    )
    with op.batch_alter_table("gd_download_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gd_download_token_order_id"), ["order_id"], unique=False
        )

    op.create_table(
        "gd_notification",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("attempt_id", sa.String(length=32), nullable=True),
        sa.Column("body_redacted", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["gd_payment_attempt.id"],
            name=op.f("fk_gd_notification_attempt_id_gd_payment_attempt"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_notification")),
        sa.UniqueConstraint(
            "provider", "dedupe_key", name=op.f("uq_gd_notification_provider_dedupe_key")
        ),
    )
    with op.batch_alter_table("gd_notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gd_notification_attempt_id"), ["attempt_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("gd_notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gd_notification_attempt_id"))

    op.drop_table("gd_notification")
    with op.batch_alter_table("gd_download_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gd_download_token_order_id"))

    op.drop_table("gd_download_token")
    with op.batch_alter_table("gd_payment_attempt", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_gd_payment_attempt_one_success",
            sqlite_where=sa.text("state = 'succeeded'"),
            postgresql_where=sa.text("state = 'succeeded'"),
        )
        batch_op.drop_index("ix_gd_payment_attempt_state_created_at")
        batch_op.drop_index(batch_op.f("ix_gd_payment_attempt_order_id"))

    op.drop_table("gd_payment_attempt")
    with op.batch_alter_table("gd_job", schema=None) as batch_op:
        batch_op.drop_index("ix_gd_job_state_run_after")
        batch_op.drop_index(batch_op.f("ix_gd_job_order_id"))

    op.drop_table("gd_job")
    with op.batch_alter_table("gd_audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gd_audit_event_order_id"))

    op.drop_table("gd_audit_event")
    with op.batch_alter_table("gd_asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gd_asset_product_id"))
        batch_op.drop_index(batch_op.f("ix_gd_asset_order_id"))

    op.drop_table("gd_asset")
    op.drop_table("gd_price_tier")
    with op.batch_alter_table("gd_order", schema=None) as batch_op:
        batch_op.drop_index("ix_gd_order_created_at")

    op.drop_table("gd_order")
    op.drop_table("gd_product")
