"""Alembic environment for the migrations shipped inside gated-delivery.

Run through ``gated-delivery db upgrade`` (which hands over a live connection), or with the
``alembic`` command from a checkout, which reads ``GD_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from gated_delivery.db import ALEMBIC_VERSION_TABLE
from gated_delivery.models import Base

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode copies the table instead
        render_as_batch=connection.dialect.name == "sqlite",
        version_table=ALEMBIC_VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_url(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.begin() as connection:
        await connection.run_sync(_configure)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    asyncio.run(
        _run_with_url(
            os.environ.get("GD_DATABASE_URL", "sqlite+aiosqlite:///./gated-delivery.sqlite3")
        )
    )
