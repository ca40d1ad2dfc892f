"""Migrations (migrations/, db.py): they build the schema the models describe."""

from __future__ import annotations

from gated_delivery.db import Database


async def test_migrated_schema_matches_the_models(gd_database_url: str) -> None:
    db = Database.from_url(gd_database_url)
    try:
        await db.upgrade()  # a second upgrade is a no-op
        await db.check()  # alembic check: raises if models and schema differ
    finally:
        await db.dispose()
