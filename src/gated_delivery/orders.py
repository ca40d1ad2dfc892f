"""Creating orders and reading them back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import audit_names
from gated_delivery.catalogue import find_tier
from gated_delivery.errors import InvalidInput, NotFound
from gated_delivery.models import Order
from gated_delivery.text import check_answers, check_single_line, terminal_safe
from gated_delivery.transitions import audit
from gated_delivery.webhooks.emit import emit

MAX_ANSWERS_BYTES: Final = 32 * 1024
MAX_NAME_LENGTH: Final = 200


def check_email(email: str) -> str:
    """The address trimmed, or ``InvalidInput`` saying what is wrong with it.

    The syntax is checked by email-validator (RFC 5321/5322, internationalised addresses),
    without DNS: the mail server has the last word on delivery.
    """
    email = email.strip()
    if not email:
        raise InvalidInput("an e-mail address is required", field="email")
    if len(email) > 320:
        raise InvalidInput("the e-mail address is longer than 320 characters", field="email")
    try:
        # validated only: the address is kept as typed (its domain's case included)
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        shown = terminal_safe(email[:80])
        raise InvalidInput(
            f"{shown!r} is not a valid e-mail address: {exc}", field="email"
        ) from None
    return email


async def create_order(
    session: AsyncSession,
    *,
    product_slug: str,
    tier_id: str,
    buyer_email: str,
    buyer_name: str = "",
    answers: Mapping[str, Any] | None = None,
    now: datetime,
    actor: str = "buyer",
) -> Order:
    """Create an UNPAID order for a price tier, copying the tier's price onto the order."""
    product, tier = await find_tier(session, product_slug, tier_id)
    email = check_email(buyer_email)
    name = check_single_line(buyer_name.strip(), field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"the name is longer than {MAX_NAME_LENGTH} characters", field="name")
    answers = dict(answers or {})
    check_answers(answers)
    if len(json.dumps(answers, ensure_ascii=False).encode()) > MAX_ANSWERS_BYTES:
        raise InvalidInput("the form answers are longer than 32 KiB", field="answers")
    order = Order(
        product_id=product.id,
        tier_id=tier.tier_id,
        amount_minor=tier.amount_minor,
        currency=tier.currency,
        buyer_email=email,
        buyer_name=name,
        answers=answers,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    await session.flush()
    audit(
        session,
        now=now,
        order_id=order.id,
        machine=audit_names.ORDER,
        subject_id=order.id,
        event="created",
        actor=actor,
        to_state=order.payment_status.value,
        data={
            "product": product.slug,
            "tier": tier.tier_id,
            "amount_minor": tier.amount_minor,
            "currency": tier.currency,
        },
    )
    await emit(session, "order.created", order, now=now)
    return order


async def find_order(session: AsyncSession, order_id: str) -> Order | None:
    """The order with this public id, or None."""
    return await session.get(Order, order_id)


async def get_order(session: AsyncSession, order_id: str) -> Order:
    """The order with this public id, or ``NotFound``."""
    order = await find_order(session, order_id)
    if order is None:
        raise NotFound(f"no order {order_id!r}")
    return order
