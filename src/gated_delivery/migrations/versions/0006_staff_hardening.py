"""staff session version and rate counters

Revision ID: 0006_staff_hardening
Revises: 0005_webhooks
Create Date: 2026-12-04 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_staff_hardening"
down_revision: str | None = "0005_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gd_staff_user") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "gd_rate_counter",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refused", sa.Integer(), server_default="0", nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_gd_rate_counter")),
    )
    op.create_index(
        op.f("ix_gd_rate_counter_last_attempt_at"), "gd_rate_counter", ["last_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_gd_rate_counter_last_attempt_at"), table_name="gd_rate_counter")
    op.drop_table("gd_rate_counter")
    with op.batch_alter_table("gd_staff_user") as batch:
        batch.drop_column("session_version")
