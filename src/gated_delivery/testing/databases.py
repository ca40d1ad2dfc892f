"""Throwaway databases for tests: a migrated SQLite file or a PostgreSQL database."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg

from gated_delivery.db import Database
from gated_delivery.ids import new_public_id
from gated_delivery.models import Base


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _migrate(url: str) -> None:
    db = Database.from_url(url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()


def sqlite_template(folder: Path) -> Path:
    """Create and migrate a SQLite file once; tests copy it (much faster than migrating)."""
    path = folder / "template.sqlite3"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


def sqlite_copy(template: Path, folder: Path) -> str:
    """A fresh copy of the template, as a database URL."""
    target = folder / "test.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


def create_postgresql(server_url: str) -> str:
    """Create a new, migrated database on the server of ``server_url``; return its URL."""
    name = "gd_test_" + new_public_id().lower().replace("-", "_")[:12]
    base, _, _ = server_url.rpartition("/")

    async def create() -> None:
        conn = await asyncpg.connect(_plain(server_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    url = f"{base}/{name}"
    asyncio.run(_migrate(url))
    return url


def drop_postgresql(server_url: str, url: str) -> None:
    """Drop a database made by ``create_postgresql``."""
    name = url.rpartition("/")[2]

    async def drop() -> None:
        conn = await asyncpg.connect(_plain(server_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def truncate_postgresql(url: str) -> None:
    """Empty every gated-delivery table (fast reset between tests)."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    conn = await asyncpg.connect(_plain(url))
    try:
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
