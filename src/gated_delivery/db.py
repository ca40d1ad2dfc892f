"""The database connection: async engine, transactions, row locks, migrations.

SQLite is the embedded default and PostgreSQL the production database. On SQLite every
transaction starts with ``BEGIN IMMEDIATE`` so writers queue up instead of failing; on
PostgreSQL rows are locked with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, TypeAlias, TypeVar

import asyncpg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gated_delivery.models import Base

MIGRATIONS: Final = Path(__file__).parent / "migrations"
T = TypeVar("T", bound=Base)
#: A select of any columns (SQLAlchemy 2.1 types each selected column)
AnySelect: TypeAlias = sa.Select[*tuple[Any, ...]]


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine for ``url`` with the per-backend settings gated-delivery relies on."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # let SQLAlchemy, not the driver, say when a transaction starts
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # take the write lock up front: SQLite's stand-in for SELECT ... FOR UPDATE
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # no pre-ping: it costs a round trip per checkout on the webhook path; a connection that
    # died with a server restart is dropped from the pool by the error it raises instead
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


#: The tries a job gets when nothing says otherwise (``GD_JOB_MAX_ATTEMPTS``'s default).
DEFAULT_JOB_MAX_ATTEMPTS: Final = 8
#: Where a transaction's session carries its database's ``job_max_attempts``.
JOB_MAX_ATTEMPTS: Final = "gd_job_max_attempts"


class Database:
    """An engine and its session factory."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        #: how many tries a job written in this database's transactions gets, unless it says;
        #: ``build_runtime`` sets it from ``GD_JOB_MAX_ATTEMPTS`` once for every writer
        self.job_max_attempts = DEFAULT_JOB_MAX_ATTEMPTS
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._driver_pool: asyncpg.Pool | None = None
        self._driver_pool_lock = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str) -> Database:
        """Connect to ``url`` (nothing is opened until first use)."""
        return cls(make_engine(url))

    @property
    def is_postgresql(self) -> bool:
        """True on PostgreSQL, where locks are per row and SKIP LOCKED exists."""
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions.begin() as session:
            session.info[JOB_MAX_ATTEMPTS] = self.job_max_attempts
            yield session

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def upgrade(self) -> None:
        """Apply every migration not yet applied (``alembic upgrade head``)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_run_alembic, "upgrade")

    async def check(self) -> None:
        """Raise if the models and the migrated schema differ (``alembic check``)."""
        async with self.engine.connect() as conn:
            await conn.run_sync(_run_alembic, "check")

    async def driver_pool(self) -> asyncpg.Pool:
        """A small asyncpg pool for single-statement hot paths (PostgreSQL only).

        Checking a connection out of SQLAlchemy's async pool costs more than the statement
        the webhook intake runs; plain asyncpg, the same driver, does not.
        """
        if self._driver_pool is None:
            async with self._driver_pool_lock:
                if self._driver_pool is None:
                    url = self.engine.url.set(drivername="postgresql")
                    self._driver_pool = await asyncpg.create_pool(
                        url.render_as_string(hide_password=False), min_size=1, max_size=10
                    )
        return self._driver_pool

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self._driver_pool is not None:
            await self._driver_pool.close()
            self._driver_pool = None
        await self.engine.dispose()


#: Alembic's bookkeeping table, prefixed like ours (host apps share the database).
ALEMBIC_VERSION_TABLE: Final = "gd_alembic_version"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _run_alembic(connection: sa.Connection, action: str) -> None:
    config = alembic_config(connection)
    if action == "upgrade":
        command.upgrade(config, "head")
    else:
        command.check(config)


async def lock(session: AsyncSession, model: type[T], key: Any) -> T | None:
    """Load one row by primary key and lock it until the transaction ends.

    ``populate_existing`` matters: a row already in the session must be re-read after the
    lock is granted, or a racing writer's change would be missed.
    """
    stmt = sa.select(model).where(model.__mapper__.primary_key[0] == key)
    # of=model: lock this row only, not the rows eagerly joined to it (the product).
    # key_share (FOR NO KEY UPDATE): inserts that merely reference the row (a notification,
    # a job) take FOR KEY SHARE on it; a plain FOR UPDATE would make them wait, and the
    # webhook intake and a settler could deadlock over an attempt and its order
    stmt = stmt.with_for_update(of=model, key_share=True)
    stmt = stmt.execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert_ignore(
    session: AsyncSession,
    model: type[Base],
    values: Mapping[str, Any],
    conflict: Sequence[str],
) -> Any | None:
    """Insert a row unless one with the same ``conflict`` columns exists.

    Returns the new row's primary key, or None when it already existed. One statement, so a
    duplicate never aborts the surrounding transaction.
    """
    table: Any = model.__table__
    pk = model.__mapper__.primary_key[0]
    insert: Any = (
        postgresql.insert(table)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    stmt = insert.values(**values).on_conflict_do_nothing(index_elements=list(conflict))
    result = await session.execute(stmt.returning(pk))
    return result.scalar_one_or_none()
