"""download token issued for, asset superseded at

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:13:40.554736
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gd_asset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("gd_download_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issued_for", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_gd_download_token_issued_for"), ["issued_for"]
        )


def downgrade() -> None:
    with op.batch_alter_table("gd_download_token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_gd_download_token_issued_for"), type_="unique")
        batch_op.drop_column("issued_for")

    with op.batch_alter_table("gd_asset", schema=None) as batch_op:
        batch_op.drop_column("superseded_at")
