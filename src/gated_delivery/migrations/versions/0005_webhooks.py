"""webhooks: endpoints, events, the delivery log; staff admin flag

Revision ID: 0005_webhooks
Revises: 0004_buyer_purchases
Create Date: 2026-12-04 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_webhooks"
down_revision: str | None = "0004_buyer_purchases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("gd_staff_user") as batch:
        batch.add_column(
            sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "gd_webhook_endpoint",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("include_buyer", sa.Boolean(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("previous_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_webhook_endpoint")),
    )
    op.create_table(
        "gd_webhook_event",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["gd_order.id"],
            name=op.f("fk_gd_webhook_event_order_id_gd_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_webhook_event")),
    )
    op.create_index("ix_gd_webhook_event_created_at", "gd_webhook_event", ["created_at"])
    op.create_index(
        op.f("ix_gd_webhook_event_order_id"), "gd_webhook_event", ["order_id"], unique=False
    )
    op.create_table(
        "gd_webhook_attempt",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("endpoint_id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_head", sa.String(length=200), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["gd_webhook_endpoint.id"],
            name=op.f("fk_gd_webhook_attempt_endpoint_id_gd_webhook_endpoint"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["gd_webhook_event.id"],
            name=op.f("fk_gd_webhook_attempt_event_id_gd_webhook_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_webhook_attempt")),
    )
    op.create_index(
        "ix_gd_webhook_attempt_endpoint_id_attempted_at",
        "gd_webhook_attempt",
        ["endpoint_id", "attempted_at"],
    )
    op.create_index(
        op.f("ix_gd_webhook_attempt_event_id"), "gd_webhook_attempt", ["event_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("gd_webhook_attempt")
    op.drop_table("gd_webhook_event")
    op.drop_table("gd_webhook_endpoint")
    with op.batch_alter_table("gd_staff_user") as batch:
        batch.drop_column("is_admin")
