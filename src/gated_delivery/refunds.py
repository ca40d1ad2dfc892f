"""Refund a paid order: through the provider when it can, else record a refund made elsewhere.

The provider is called first and outside any transaction (a network call must not hold a row
lock); if it refuses, nothing on our side changes. Then the one refund path,
``delivery.refund``, makes the order REFUNDED, revokes its links and mails the buyer.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa

from gated_delivery import delivery
from gated_delivery.errors import ActionRefused, NotFound, ProviderError
from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.payments import view
from gated_delivery.plugin_protocols import RefundCapable
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus


class RefundRefused(ActionRefused):
    """The provider would not refund the payment; the order was left as it was."""


class RefundKind(enum.Enum):
    """Whether the money went back through the provider or a refund was only recorded."""

    THROUGH_PROVIDER = "through_provider"
    RECORDED = "recorded"


async def refund_order(rt: Runtime, order_id: str, *, actor: str, reason: str) -> RefundKind:
    """Refund the PAID order ``order_id``; returns how the money went back.

    Refused (nothing changed) without a reason, when the order is not paid, and with
    ``RefundRefused`` carrying the provider's reason when the provider says no.
    """
    reason = reason.strip()
    if not reason:
        raise ActionRefused("a reason is required to refund an order")
    attempt = await _paid_attempt(rt, order_id)
    provider = rt.provider(attempt.provider)
    kind = RefundKind.RECORDED
    if isinstance(provider, RefundCapable):
        try:
            said = await provider.refund_payment(view(attempt))
        except ProviderError as exc:
            raise RefundRefused(
                f"{provider.display_name} refused the refund, nothing changed: "
                f"{exc.provider_message}"
            ) from None
        kind = RefundKind.THROUGH_PROVIDER
        reason = f"{reason} ({said})"
    await delivery.refund(rt, order_id, actor=actor, reason=f"{kind.value}: {reason}")
    rt.wake_worker()
    return kind


async def _paid_attempt(rt: Runtime, order_id: str) -> PaymentAttempt:
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id)
        if order is None:
            raise NotFound(f"no order {order_id!r}")
        if order.payment_status is not PaymentStatus.PAID:
            raise ActionRefused(f"order {order.id} is {order.payment_status.value}, not paid")
        found = await session.execute(
            sa.select(PaymentAttempt).where(
                PaymentAttempt.order_id == order.id,
                PaymentAttempt.state == AttemptState.SUCCEEDED,
            )
        )
        attempt = found.scalars().first()
        if attempt is None:
            raise ActionRefused(f"order {order.id} has no succeeded payment to refund")
        return attempt
