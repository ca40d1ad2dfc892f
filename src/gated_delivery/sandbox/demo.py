"""Prepare the sandbox demo: migrate the database, add sample products, print the URLs.

Run by ``nox -s demo`` before ``gated-delivery serve --sandbox``; safe to run again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import sqlalchemy as sa

from gated_delivery.catalogue import upsert_product
from gated_delivery.config import load_settings
from gated_delivery.ids import new_public_id
from gated_delivery.models import Asset, AssetKind, Product
from gated_delivery.money import Money
from gated_delivery.runtime import Runtime, build_runtime

GUIDE_TEXT = (
    "Guide de l'audit associatif\n\n"
    "Ce fichier est livré par gated-delivery après confirmation du paiement.\n"
).encode()


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def seed(rt: Runtime) -> None:
    """Add the sample products if they are missing."""
    await rt.db.upgrade()
    async with rt.db.transaction() as session:
        existing = set((await session.execute(sa.select(Product.slug))).scalars())
    if "guide" not in existing:
        async with rt.db.transaction() as session:
            product, _ = await upsert_product(
                session,
                slug="guide",
                title="Guide de l'audit",
                tier_id="standard",
                tier_label="Standard",
                price=Money(5000, "XOF"),
            )
        stored = await rt.storage.save(f"products/{new_public_id()}", _one(GUIDE_TEXT))
        async with rt.db.transaction() as session:
            session.add(
                Asset(
                    product_id=product.id,
                    kind=AssetKind.PRODUCT_FILE,
                    storage=rt.storage.name,
                    key=stored.key,
                    filename="guide-audit.txt",
                    media_type="text/plain",
                    size_bytes=stored.size_bytes,
                    sha256=stored.sha256,
                    created_at=rt.clock.now(),
                )
            )
    if "rapport" not in existing:
        async with rt.db.transaction() as session:
            await upsert_product(
                session,
                slug="rapport",
                title="Rapport relu par notre équipe",
                tier_id="standard",
                tier_label="Standard",
                price=Money(25000, "XOF"),
                requires_review=True,
            )


async def main() -> None:
    """Seed, then print where to go."""
    settings = load_settings()
    rt = build_runtime(settings)
    try:
        await seed(rt)
    finally:
        await rt.close()
    base = settings.base_url
    print(f"\nDemo ready. Open {base}/sandbox/ to buy a product with the fake provider.")
    print(f"Health: {base}/healthz   Mail sent by the app is written to {settings.mail_dir}\n")


if __name__ == "__main__":
    asyncio.run(main())
