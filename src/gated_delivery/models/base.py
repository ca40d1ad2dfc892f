"""The declarative base: naming convention, UTC datetimes, enums stored by value."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import JSON, TypeDecorator

from gated_delivery.states import AttemptState, FulfilmentState, PaymentStatus

NAMING: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime that refuses naive values and comes back aware (UTC) on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        # SQLite stores text; drop the offset so values sort and compare as strings
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JobState(enum.StrEnum):
    """Where an outbox job stands."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class AssetKind(enum.StrEnum):
    """What a stored file is to its order or product."""

    UPLOAD = "upload"
    DRAFT = "draft"
    FINAL = "final"
    PRODUCT_FILE = "product_file"


def _enum(cls: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(
        cls,
        native_enum=False,
        length=32,
        create_constraint=False,
        values_callable=lambda members: [m.value for m in members],
    )


def utcnow() -> datetime:
    """The current time, aware UTC (the default of every timestamp column)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with our naming convention and type map."""

    metadata = MetaData(naming_convention=NAMING)  # Alembic can only drop what is named
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        AttemptState: _enum(AttemptState),
        PaymentStatus: _enum(PaymentStatus),
        FulfilmentState: _enum(FulfilmentState),
        JobState: _enum(JobState),
        AssetKind: _enum(AssetKind),
    }
