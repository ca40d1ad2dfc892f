"""GET /orders/{id}/status and the health checks (web/status.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import sqlalchemy as sa

from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.plugin_types import BUYER_MESSAGE_LENGTH, ProviderStatus, ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, checkout, notify_fake

RunJobs = Callable[[], Awaitable[int]]


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
        "last_try": "",
    }
    assert "awa" not in response.text.lower()


async def stored_message(rt: Runtime, attempt_id: str) -> str:
    async with rt.db.transaction() as session:
        found = await session.execute(
            sa.select(PaymentAttempt.buyer_message).where(PaymentAttempt.id == attempt_id)
        )
        return str(found.scalar_one())


async def test_the_providers_word_on_a_failed_try_is_shown_until_the_payment_settles(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    said = "Solde <b>insuffisant</b>\x1b[2J\u202e " + "x" * 300
    gd_fake_provider.ledger[attempt_id] = ProviderStatus(
        ReportedStatus.PENDING, reason="last try refused", buyer_message=said
    )
    await notify_fake(gd_client, gd_fake_provider, attempt_id, status="payment_failed")
    await gd_run_jobs()
    shown = (await gd_client.get(f"/orders/{gd_order.id}/status")).json()
    assert shown["payment"] == "pending"
    # one line, no control or bidi characters, bounded; still text, escaped by the page
    assert shown["last_try"].startswith("Solde <b>insuffisant</b> [2J x")
    assert len(shown["last_try"]) == BUYER_MESSAGE_LENGTH
    assert shown["last_try"].endswith("…")
    assert "\x1b" not in shown["last_try"]
    assert "\u202e" not in shown["last_try"]
    page = await gd_client.get(f"/payments/fake/return?order={gd_order.id}")
    assert "Your last try did not go through" in page.text
    assert "Votre dernier essai n'a pas abouti" in page.text
    assert "Solde &lt;b&gt;insuffisant&lt;/b&gt;" in page.text
    assert "<b>" not in page.text
    gd_fake_provider.will_report(attempt_id)
    await notify_fake(gd_client, gd_fake_provider, attempt_id)
    await gd_run_jobs()
    shown = (await gd_client.get(f"/orders/{gd_order.id}/status")).json()
    assert (shown["payment"], shown["last_try"]) == ("paid", "")
    assert await stored_message(gd_runtime, attempt_id) == ""  # forgotten once settled
    page = await gd_client.get(f"/payments/fake/return?order={gd_order.id}")
    assert '<p class="state" id="last-try" hidden>' in page.text
    assert "insuffisant" not in page.text


async def test_a_pending_answer_without_a_word_clears_the_last_one(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    attempt_id = await checkout(gd_client, gd_order.id)
    gd_fake_provider.ledger[attempt_id] = ProviderStatus(
        ReportedStatus.PENDING, buyer_message="Paiement refusé"
    )
    await notify_fake(gd_client, gd_fake_provider, attempt_id, status="payment_failed")
    await gd_run_jobs()
    assert (await gd_client.get(f"/orders/{gd_order.id}/status")).json()["last_try"] == (
        "Paiement refusé"
    )
    gd_fake_provider.ledger[attempt_id] = ProviderStatus(ReportedStatus.PENDING)
    await notify_fake(gd_client, gd_fake_provider, attempt_id, status="processing")
    await gd_run_jobs()
    assert (await gd_client.get(f"/orders/{gd_order.id}/status")).json()["last_try"] == ""
    assert await stored_message(gd_runtime, attempt_id) == ""


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
