"""Orders for tests: a product made on first use and an UNPAID order of it, in one call.

``make_order(rt, "rapport", requires_review=True)`` replaces the "product needing review +
order" helper every test module used to copy. The product is created the first time a slug is
asked for and reused after that, so one test can make several orders of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from gated_delivery.catalogue import find_product, upsert_product
from gated_delivery.models import Order
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime

#: The tier every made order is for.
TIER: Final = "std"
#: The buyer of every made order unless a test says otherwise.
BUYER_EMAIL: Final = "awa@example.org"


async def make_order(
    rt: Runtime,
    slug: str = "rapport",
    *,
    price: Money | None = None,
    requires_review: bool = False,
    generator: str | None = None,
    buyer_email: str = BUYER_EMAIL,
    buyer_name: str = "Awa",
    answers: Mapping[str, Any] | None = None,
) -> Order:
    """An UNPAID order of product ``slug`` (made with these options if it does not exist)."""
    async with rt.db.transaction() as session:
        if await find_product(session, slug) is None:
            await upsert_product(
                session,
                slug=slug,
                title=slug.replace("-", " ").title(),
                tier_id=TIER,
                tier_label="Standard",
                price=price or Money(25000, "XOF"),
                requires_review=requires_review,
                generator=generator,
            )
        return await create_order(
            session,
            product_slug=slug,
            tier_id=TIER,
            buyer_email=buyer_email,
            buyer_name=buyer_name,
            answers=answers,
            now=rt.clock.now(),
        )
