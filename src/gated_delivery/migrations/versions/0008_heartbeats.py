"""heartbeats of the processes that run or feed the jobs

Revision ID: 0008_heartbeats
Revises: 0007_attempt_buyer_message
Create Date: 2026-12-05 12:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_heartbeats"
down_revision: str | None = "0007_attempt_buyer_message"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gd_heartbeat",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "name", name=op.f("pk_gd_heartbeat")),
    )
    op.create_index(op.f("ix_gd_heartbeat_last_seen"), "gd_heartbeat", ["last_seen"])


def downgrade() -> None:
    op.drop_index(op.f("ix_gd_heartbeat_last_seen"), table_name="gd_heartbeat")
    op.drop_table("gd_heartbeat")
