"""purchases links, payment reminder delay and file stamping per product

Revision ID: 0004_buyer_purchases
Revises: 0003
Create Date: 2026-12-04 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_buyer_purchases"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gd_purchases_link",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_key", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gd_purchases_link")),
    )
    op.create_index("ix_gd_purchases_link_created_at", "gd_purchases_link", ["created_at"])
    with op.batch_alter_table("gd_product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_reminder_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("stamp_files", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("gd_product", schema=None) as batch_op:
        batch_op.drop_column("stamp_files")
        batch_op.drop_column("payment_reminder_minutes")
    op.drop_index("ix_gd_purchases_link_created_at", table_name="gd_purchases_link")
    op.drop_table("gd_purchases_link")
