"""Products and their price tiers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import assets
from gated_delivery.errors import InvalidInput, NotFound
from gated_delivery.ids import new_public_id
from gated_delivery.models import Asset, PriceTier, Product
from gated_delivery.money import Money

if TYPE_CHECKING:
    from gated_delivery.runtime import Runtime

SLUG: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
TIER_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def check_slug(slug: str) -> str:
    """Return ``slug`` if it is lower-case letters, digits and dashes (max 80)."""
    if not SLUG.match(slug):
        raise InvalidInput(
            f"product slug {slug!r} must be lower-case letters, digits and dashes (max 80)",
            field="slug",
        )
    return slug


async def upsert_product(
    session: AsyncSession,
    *,
    slug: str,
    title: str,
    tier_id: str,
    tier_label: str,
    price: Money,
    requires_review: bool = False,
    generator: str | None = None,
) -> tuple[Product, PriceTier]:
    """Create the product if new, and add the tier (a second call adds another tier).

    An existing tier is refused rather than silently repriced: orders already reference it.
    """
    check_slug(slug)
    if not TIER_ID.match(tier_id):
        raise InvalidInput(
            f"tier id {tier_id!r} must be lower-case letters, digits, '-' or '_' (max 40)",
            field="tier",
        )
    if price.amount_minor <= 0:
        raise InvalidInput(f"a price must be positive, not {price}", field="amount")
    if not title.strip():
        raise InvalidInput("a product needs a title", field="title")
    product = (
        await session.execute(sa.select(Product).where(Product.slug == slug))
    ).scalar_one_or_none()
    if product is None:
        product = Product(
            slug=slug, title=title.strip(), requires_review=requires_review, generator=generator
        )
        session.add(product)
        await session.flush()
    elif any(t.tier_id == tier_id for t in product.tiers):
        raise InvalidInput(
            f"product {slug!r} already has a tier {tier_id!r}; choose another --tier id",
            field="tier",
        )
    tier = PriceTier(
        product_id=product.id,
        tier_id=tier_id,
        label=tier_label,
        amount_minor=price.amount_minor,
        currency=price.currency,
    )
    session.add(tier)
    await session.flush()
    await session.refresh(product, ["tiers"])
    return product, tier


async def find_tier(session: AsyncSession, slug: str, tier_id: str) -> tuple[Product, PriceTier]:
    """The product and tier behind ``/buy/<slug>/<tier_id>``; ``NotFound`` otherwise."""
    row = (
        await session.execute(
            sa.select(Product, PriceTier)
            .join(PriceTier, PriceTier.product_id == Product.id)
            .where(Product.slug == slug, PriceTier.tier_id == tier_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no product {slug!r} with a price tier {tier_id!r}")
    return row[0], row[1]


async def list_products(session: AsyncSession) -> list[Product]:
    """Every product with its tiers, by slug."""
    return list((await session.execute(sa.select(Product).order_by(Product.slug))).scalars())


async def find_product(session: AsyncSession, slug: str) -> Product | None:
    """The product with this slug, or None."""
    query = sa.select(Product).where(Product.slug == slug)
    return (await session.execute(query)).scalar_one_or_none()


def tiers_by_price(product: Product | None) -> list[PriceTier]:
    """A product's price tiers, cheapest first (none for no product)."""
    return sorted(product.tiers, key=lambda t: t.amount_minor) if product else []


async def add_product_file(
    rt: Runtime, product_id: int, path: Path, *, filename: str, media_type: str
) -> Asset:
    """Store ``path`` as the file every buyer of the product receives (streamed, measured).

    ``filename`` is the name buyers download it under; the storage key is generated.
    """
    stored = await rt.storage.save(f"products/{new_public_id()}", _chunks(path))
    async with rt.db.transaction() as session:
        return assets.add_product_file_row(
            session,
            product_id,
            stored,
            storage=rt.storage.name,
            filename=filename,
            media_type=media_type,
            now=rt.clock.now(),
        )


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(256 * 1024):
            yield chunk


#: ``set_buyer_options(reminder_minutes=FOLLOW_SETTING)``: the product follows
#: ``GD_PAYMENT_REMINDER_MINUTES`` again.
FOLLOW_SETTING: Final = -1


async def set_buyer_options(
    session: AsyncSession,
    slug: str,
    *,
    stamp_files: bool | None = None,
    reminder_minutes: int | None = None,
) -> Product:
    """Change what a product does for its buyers; None leaves an option as it is.

    ``stamp_files``: stamp delivered PDF and Word files with the buyer's name.
    ``reminder_minutes``: the delay of the unpaid-order reminder, 0 for none, or
    ``FOLLOW_SETTING`` for ``GD_PAYMENT_REMINDER_MINUTES``.
    """
    product = (
        await session.execute(sa.select(Product).where(Product.slug == check_slug(slug)))
    ).scalar_one_or_none()
    if product is None:
        raise NotFound(f"no product {slug!r}; add it first with `gated-delivery products add`")
    if reminder_minutes is not None and reminder_minutes < FOLLOW_SETTING:
        raise InvalidInput(
            f"a reminder delay is minutes (0: none), not {reminder_minutes}", field="reminder"
        )
    if stamp_files is not None:
        product.stamp_files = stamp_files
    if reminder_minutes is not None:
        product.payment_reminder_minutes = None if reminder_minutes < 0 else reminder_minutes
    await session.flush()
    return product
