"""What the Kit Complet sells: two products, their price tiers, and how to put them in the database.

The tables below are the catalogue a team edits; ``seed`` writes what is missing and never
reprices a tier that exists (orders already point at it: add a new tier instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gated_delivery.api import (
    Money,
    Runtime,
    add_product_file,
    find_product,
    product_file,
    tiers_by_price,
    upsert_product,
)
from kit_complet.files import GUIDE_FILENAME, GUIDE_MEDIA_TYPE, GUIDE_PDF

#: The generator of the openai-docx plugin: an AI draft rendered into the Word template.
KIT_GENERATOR: Final = "openai_docx"


@dataclass(frozen=True)
class Tier:
    """One price of a product: its id in URLs, its label, its price, what it includes."""

    id: str
    label: str
    price: Money
    detail: str


@dataclass(frozen=True)
class Offer:
    """A product as the catalogue page shows it."""

    slug: str
    title: str
    summary: str
    tiers: tuple[Tier, ...]
    requires_review: bool
    generator: str | None = None
    #: the stored file every buyer receives (a product delivered at once), if any
    file: Path | None = None
    file_name: str = ""
    file_media_type: str = ""


KIT: Final = Offer(
    slug="kit-complet",
    title="Kit Complet — audit de votre organisation",
    summary=(
        "Un kit d'audit rédigé pour votre organisation à partir de vos réponses et de vos "
        "documents : synthèse, points de contrôle, plan d'action et calendrier. Notre équipe "
        "relit le projet avant de vous l'envoyer."
    ),
    tiers=(
        Tier(
            "standard",
            "Standard",
            Money(150_000, "XOF"),
            "Le kit rédigé pour vous et relu par notre équipe.",
        ),
        Tier(
            "sur-site",
            "Avec journée de revue sur site",
            Money(350_000, "XOF"),
            "Le kit, plus une journée de revue dans vos locaux avec votre équipe.",
        ),
    ),
    requires_review=True,
    generator=KIT_GENERATOR,
)

GUIDE: Final = Offer(
    slug="guide-audit",
    title="Guide de l'audit associatif",
    summary=(
        "Le guide pratique pour préparer un audit : pièces justificatives, rapprochements "
        "bancaires, procès-verbaux. Envoyé par e-mail dès la confirmation du paiement."
    ),
    tiers=(Tier("pdf", "Guide en PDF", Money(15_000, "XOF"), "Téléchargement immédiat."),),
    requires_review=False,
    file=GUIDE_PDF,
    file_name=GUIDE_FILENAME,
    file_media_type=GUIDE_MEDIA_TYPE,
)

OFFERS: Final = (KIT, GUIDE)
BY_SLUG: Final = {offer.slug: offer for offer in OFFERS}


async def seed(rt: Runtime) -> list[str]:
    """Migrate the database and add whatever products, tiers and files are missing.

    Returns what it added, one line each (nothing on a second run).
    """
    await rt.db.upgrade()
    added: list[str] = []
    for offer in OFFERS:
        added += await _add_tiers(rt, offer)
        if offer.file is not None and await _add_file(rt, offer, offer.file):
            added.append(f"{offer.slug}: fichier {offer.file_name}")
    return added


async def _add_tiers(rt: Runtime, offer: Offer) -> list[str]:
    async with rt.db.transaction() as session:
        known = {tier.tier_id for tier in tiers_by_price(await find_product(session, offer.slug))}
        added = []
        for tier in offer.tiers:
            if tier.id in known:
                continue
            await upsert_product(
                session,
                slug=offer.slug,
                title=offer.title,
                tier_id=tier.id,
                tier_label=tier.label,
                price=tier.price,
                requires_review=offer.requires_review,
                generator=offer.generator,
            )
            added.append(f"{offer.slug}/{tier.id}: {tier.price}")
    return added


async def _add_file(rt: Runtime, offer: Offer, path: Path) -> bool:
    async with rt.db.transaction() as session:
        product = await find_product(session, offer.slug)
        assert product is not None  # _add_tiers wrote it
        if await product_file(session, product.id) is not None:
            return False
        product_id = product.id
    await add_product_file(
        rt, product_id, path, filename=offer.file_name, media_type=offer.file_media_type
    )
    return True
