"""The order status endpoint (JSON, no personal data) and the health checks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from gated_delivery import history
from gated_delivery.states import FulfilmentState, PaymentStatus
from gated_delivery.web.deps import runtime

DELIVERABLE = frozenset({FulfilmentState.PUBLISHED, FulfilmentState.DELIVERED})

_PAYMENT_MESSAGES = {
    PaymentStatus.UNPAID: "en attente de paiement",
    PaymentStatus.PENDING: "paiement en attente de confirmation",
    PaymentStatus.PAID: "payé — votre commande est en préparation",
    PaymentStatus.FAILED: "échec — réessayer ou choisir un autre moyen",
    PaymentStatus.REVIEW: "paiement en vérification par notre équipe",
    PaymentStatus.REFUNDED: "paiement remboursé",
}


def buyer_message(payment: PaymentStatus, fulfilment: FulfilmentState) -> str:
    """The sentence a buyer sees for these states."""
    if payment is PaymentStatus.PAID and fulfilment in DELIVERABLE:
        return "payé — votre lien vous a été envoyé par e-mail"
    return _PAYMENT_MESSAGES[payment]


async def order_status(request: Request) -> Response:
    """``GET /orders/{order_id}/status``: states only; no name, e-mail or answers.

    ``last_try`` is the provider's buyer-safe word on a failed try the buyer may repeat.
    """
    rt = runtime(request)
    order, failed_try = await history.buyer_status(rt, request.path_params["order_id"])
    is_paid = order.payment_status is PaymentStatus.PAID
    return JSONResponse(
        {
            "order_id": order.id,
            "payment": order.payment_status.value,
            "fulfilment": order.fulfilment_status.value,
            "paid": is_paid,
            "downloadable": is_paid and order.fulfilment_status in DELIVERABLE,
            "final": order.payment_status in (PaymentStatus.PAID, PaymentStatus.REFUNDED),
            "message": buyer_message(order.payment_status, order.fulfilment_status),
            "last_try": failed_try,
        },
        headers={"cache-control": "no-store"},
    )


async def healthz(request: Request) -> Response:
    """Liveness: the process answers."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    """Readiness: the database answers."""
    try:
        await runtime(request).db.ping()
    except Exception:
        return PlainTextResponse("database unreachable", status_code=503)
    return PlainTextResponse("ok")
