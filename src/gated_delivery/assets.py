"""Assets: the stored files an order or a product holds, and which one a buyer receives.

Every asset row is built here from what a storage backend measured while writing (its
``StoredObject``), so a size or a checksum is never typed twice. An order keeps one live asset
per kind: a new draft or final *supersedes* the previous one instead of deleting it, so the
audit trail can still name every file a buyer or staff member saw.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery.models import Asset, AssetKind, Order

#: The longest display name kept, in characters (``Asset.filename`` holds 255).
MAX_FILENAME: int = 255


class Measured(Protocol):
    """What a storage backend reports of a file it wrote (``StoredObject``, ``ReceivedFile``)."""

    @property
    def key(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def sha256(self) -> str: ...


def columns(
    stored: Measured,
    *,
    kind: AssetKind,
    storage: str,
    filename: str,
    media_type: str,
    now: datetime,
    order_id: str | None = None,
    product_id: int | None = None,
) -> dict[str, Any]:
    """The column values of an asset row for a file ``storage`` wrote as ``stored``."""
    return {
        "order_id": order_id,
        "product_id": product_id,
        "kind": kind,
        "storage": storage,
        "key": stored.key,
        "filename": filename[:MAX_FILENAME],
        "media_type": media_type,
        "size_bytes": stored.size_bytes,
        "sha256": stored.sha256,
        "created_at": now,
    }


class NamedFile(Measured, Protocol):
    """A received upload: what was stored, plus the name and type the buyer's file had."""

    @property
    def filename(self) -> str: ...
    @property
    def media_type(self) -> str: ...


def add_uploads(
    session: AsyncSession,
    order_id: str,
    files: Iterable[NamedFile],
    *,
    storage: str,
    now: datetime,
) -> list[Asset]:
    """Record the buyer's stored uploads (``uploads.receive_upload``'s files) on an order."""
    added = [
        Asset(
            **columns(
                received,
                kind=AssetKind.UPLOAD,
                storage=storage,
                filename=received.filename,
                media_type=received.media_type,
                now=now,
                order_id=order_id,
            )
        )
        for received in files
    ]
    session.add_all(added)
    return added


def add_product_file_row(
    session: AsyncSession,
    product_id: int,
    stored: Measured,
    *,
    storage: str,
    filename: str,
    media_type: str,
    now: datetime,
) -> Asset:
    """Record a stored file as the one every buyer of the product receives."""
    asset = Asset(
        **columns(
            stored,
            kind=AssetKind.PRODUCT_FILE,
            storage=storage,
            filename=filename,
            media_type=media_type,
            now=now,
            product_id=product_id,
        )
    )
    session.add(asset)
    return asset


async def current(session: AsyncSession, order_id: str, kind: AssetKind) -> Asset | None:
    """The order's live asset of ``kind`` (none superseded it), or None."""
    query = sa.select(Asset).where(
        Asset.order_id == order_id, Asset.kind == kind, Asset.superseded_at.is_(None)
    )
    return (await session.execute(query)).scalars().first()


async def supersede(session: AsyncSession, order_id: str, kind: AssetKind, now: datetime) -> None:
    """Mark the order's live asset(s) of ``kind`` as replaced, before adding a new one."""
    await session.execute(
        sa.update(Asset)
        .where(Asset.order_id == order_id, Asset.kind == kind, Asset.superseded_at.is_(None))
        .values(superseded_at=now)
    )


async def product_file(session: AsyncSession, product_id: int) -> Asset | None:
    """The newest file stored for every buyer of a product, or None."""
    query = (
        sa.select(Asset)
        .where(Asset.product_id == product_id, Asset.kind == AssetKind.PRODUCT_FILE)
        .order_by(Asset.created_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def deliverable(session: AsyncSession, order: Order) -> Asset | None:
    """The file a buyer of this order receives, or None if there is none yet.

    With review: the newest FINAL. Without: the newest FINAL, else the newest DRAFT (the
    generated document), else the product's own file.
    """
    final = await current(session, order.id, AssetKind.FINAL)
    if final is not None or order.product.requires_review:
        return final
    draft = await current(session, order.id, AssetKind.DRAFT)
    if draft is not None:
        return draft
    return await product_file(session, order.product_id)


async def uploads(session: AsyncSession, order_id: str) -> list[Asset]:
    """The buyer's uploaded documents of an order, in the order they were received."""
    query = (
        sa.select(Asset)
        .where(Asset.order_id == order_id, Asset.kind == AssetKind.UPLOAD)
        .order_by(Asset.created_at, Asset.id)
    )
    return list((await session.execute(query)).scalars())


async def upload_names(session: AsyncSession, order_id: str) -> list[str]:
    """The display names of an order's uploaded documents, in the order received."""
    return [asset.filename for asset in await uploads(session, order_id)]
