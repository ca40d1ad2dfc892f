"""payment attempt: the provider's message for the buyer

Revision ID: 0007_attempt_buyer_message
Revises: 0006_staff_hardening
Create Date: 2026-12-05 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_attempt_buyer_message"
down_revision: str | None = "0006_staff_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gd_payment_attempt") as batch:
        batch.add_column(
            sa.Column("buyer_message", sa.String(length=200), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("gd_payment_attempt") as batch:
        batch.drop_column("buyer_message")
