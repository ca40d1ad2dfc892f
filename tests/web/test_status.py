"""GET /orders/{id}/status and the health checks (web/status.py)."""

from __future__ import annotations

import httpx

from gated_delivery.models import Order


async def test_status_has_states_and_no_personal_data(
    gd_client: httpx.AsyncClient, gd_order: Order
) -> None:
    response = await gd_client.get(f"/orders/{gd_order.id}/status")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body == {
        "order_id": gd_order.id,
        "payment": "unpaid",
        "fulfilment": "received",
        "paid": False,
        "downloadable": False,
        "final": False,
        "message": "en attente de paiement",
    }
    assert "awa" not in response.text.lower()


async def test_status_of_unknown_order_is_404(gd_client: httpx.AsyncClient) -> None:
    response = await gd_client.get("/orders/nope/status")
    assert response.status_code == 404
    assert response.json() == {"error": "no order 'nope'"}


async def test_health_checks(gd_client: httpx.AsyncClient) -> None:
    assert (await gd_client.get("/healthz")).text == "ok"
    assert (await gd_client.get("/readyz")).text == "ok"


async def test_unknown_route_is_a_short_404(gd_client: httpx.AsyncClient) -> None:
    response = await gd_client.get("/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"error": "nothing at /nothing/here"}
