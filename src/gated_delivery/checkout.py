"""Starting a payment: a new attempt, the provider's session, where the buyer goes next.

The attempt is written before the provider is called, so a provider that answers late or
not at all leaves a FAILED attempt behind, never an order in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from gated_delivery.db import lock
from gated_delivery.errors import InvalidInput, NotFound, PriceNotAccepted, ProviderError
from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.money import Money
from gated_delivery.payments import update_order_status
from gated_delivery.plugin_protocols import PaymentProvider
from gated_delivery.plugin_types import BUYER_DETAIL_KEYS, PaymentRequest, PaymentStart
from gated_delivery.runtime import Runtime
from gated_delivery.states import ATTEMPT, AttemptState, PaymentStatus
from gated_delivery.transitions import audit, transition

#: Orders in these states can start a new attempt.
PAYABLE: Final = frozenset({PaymentStatus.UNPAID, PaymentStatus.PENDING, PaymentStatus.FAILED})


@dataclass(frozen=True)
class Started:
    """A payment attempt that is waiting for the buyer at the provider."""

    attempt_id: str
    redirect_url: str


async def start_attempt(rt: Runtime, order_id: str, provider_name: str) -> Started:
    """Create an attempt, ask the provider to open a session, and mark the attempt PENDING.

    On a provider error the attempt is FAILED with the provider's code and the error is
    raised again for the caller to show "try again or use another method".
    """
    provider = rt.provider(provider_name)
    attempt_id, request = await _create_attempt(rt, order_id, provider)
    try:
        start = await provider.start_payment(request)
    except Exception as exc:
        await _fail_start(rt, attempt_id, exc)
        raise
    await _session_opened(rt, order_id, attempt_id, start)
    return Started(attempt_id, start.redirect_url)


async def _create_attempt(
    rt: Runtime, order_id: str, provider: PaymentProvider
) -> tuple[str, PaymentRequest]:
    """A CREATED attempt for a payable order, and what its provider will be told."""
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        if order is None:
            raise NotFound(f"no order {order_id!r}")
        _check_payable(order, provider)
        attempt = PaymentAttempt(
            order_id=order.id,
            provider=provider.name,
            amount_minor=order.amount_minor,
            currency=order.currency,
            created_at=now,
            updated_at=now,
        )
        session.add(attempt)
        await session.flush()
        audit(
            session,
            now=now,
            order_id=order.id,
            machine=ATTEMPT.name,
            subject_id=attempt.id,
            event="created",
            actor="buyer",
            to_state=attempt.state.value,
            data={"provider": provider.name},
        )
        return attempt.id, payment_request(rt, order, attempt)


def _check_payable(order: Order, provider: PaymentProvider) -> None:
    if order.payment_status not in PAYABLE:
        raise InvalidInput(
            f"order {order.id} is {order.payment_status.value}; it cannot be paid again"
        )
    refusal = amount_refusal(provider, order.price)
    if refusal is not None:
        raise PriceNotAccepted(
            f"{provider.display_name} cannot take this order: {refusal}; "
            "choose another payment method"
        )


async def _session_opened(rt: Runtime, order_id: str, attempt_id: str, start: PaymentStart) -> None:
    """Keep what the provider gave back on the attempt, and make it PENDING."""
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        attempt = await lock(session, PaymentAttempt, attempt_id)
        assert order is not None  # rows are never deleted while a payment runs
        assert attempt is not None
        attempt.provider_ref = start.provider_ref
        attempt.provider_data = dict(start.provider_data)
        await transition(
            session,
            ATTEMPT,
            attempt,
            "state",
            AttemptState.PENDING,
            now=rt.clock.now(),
            order_id=order.id,
            actor=f"provider:{attempt.provider}",
            reason="payment session opened",
        )
        await update_order_status(rt, session, order)


def amount_refusal(provider: PaymentProvider, amount: Money) -> str | None:
    """Why ``provider`` cannot take ``amount`` (its optional ``refuses_amount``), or None."""
    refuses = getattr(provider, "refuses_amount", None)
    if not callable(refuses):
        return None
    reason = refuses(amount)
    return None if reason is None else str(reason)


def providers_for(rt: Runtime, amount: Money) -> list[PaymentProvider]:
    """The installed providers that can take ``amount``, in the order buyers see them."""
    usable = [p for p in rt.providers.values() if amount_refusal(p, amount) is None]
    return sorted(usable, key=lambda p: p.display_name)


def buyer_details(answers: Mapping[str, Any]) -> dict[str, str]:
    """The answers a provider may need to identify the payer (``BUYER_DETAIL_KEYS``)."""
    found = {key: answers.get(key) for key in BUYER_DETAIL_KEYS}
    return {key: str(value).strip() for key, value in found.items() if value not in (None, "")}


def provider_urls(base_url: str, provider: str) -> dict[str, str]:
    """The addresses a provider is given (its ``?order=`` aside): notify and return."""
    return {
        "notify": f"{base_url}/payments/{provider}/notify",
        "return": f"{base_url}/payments/{provider}/return",
    }


def payment_request(rt: Runtime, order: Order, attempt: PaymentAttempt) -> PaymentRequest:
    """What the provider is told about this attempt."""
    urls = provider_urls(rt.settings.base_url, attempt.provider)
    return PaymentRequest(
        attempt_id=attempt.id,
        order_id=order.id,
        amount=order.price,
        description=order.product.title,
        buyer_name=order.buyer_name,
        buyer_email=order.buyer_email,
        return_url=f"{urls['return']}?order={order.id}",
        notify_url=f"{urls['notify']}?order={order.id}",
        cancel_url=f"{urls['return']}?order={order.id}&cancelled=1",
        buyer_details=buyer_details(order.answers or {}),
    )


async def _fail_start(rt: Runtime, attempt_id: str, exc: Exception) -> None:
    now = rt.clock.now()
    if isinstance(exc, ProviderError):
        reason = f"start refused: {exc.code}: {exc.provider_message}"
    else:
        reason = f"start failed: {type(exc).__name__}"
    async with rt.db.transaction() as session:
        attempt = await lock(session, PaymentAttempt, attempt_id)
        assert attempt is not None
        await transition(
            session,
            ATTEMPT,
            attempt,
            "state",
            AttemptState.FAILED,
            now=now,
            order_id=attempt.order_id,
            actor=f"provider:{attempt.provider}",
            reason=reason[:500],
        )
