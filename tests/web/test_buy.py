"""POST /buy, GET /checkout and POST /checkout (web/buy.py)."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from gated_delivery.models import AuditEvent, Order, PaymentAttempt, Product
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus
from gated_delivery.testing import FakeProvider

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def count(rt: Runtime, model: type) -> int:
    async with rt.db.transaction() as session:
        return int(
            (await session.execute(sa.select(sa.func.count()).select_from(model))).scalar_one()
        )


async def test_buy_creates_an_unpaid_order_and_shows_providers(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_product: Product
) -> None:
    response = await gd_client.post(
        "/buy/guide/std", data={"email": "awa@example.org", "name": "Awa", "sector": "santé"}
    )
    assert response.status_code == 303
    order_id = response.headers["location"].rsplit("/", 1)[1]
    async with gd_runtime.db.transaction() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        assert (order.buyer_email, order.buyer_name) == ("awa@example.org", "Awa")
        assert order.answers == {"sector": "santé"}
        assert order.payment_status is PaymentStatus.UNPAID
        assert (order.amount_minor, order.currency) == (5000, "XOF")
    page = await gd_client.get(response.headers["location"])
    assert page.status_code == 200
    assert f'action="/checkout/{order_id}/fake"' in page.text
    assert "5000 XOF" in page.text


async def test_order_ids_are_random_and_unguessable(
    gd_client: httpx.AsyncClient, gd_product: Product
) -> None:
    ids = set()
    for _ in range(5):
        response = await gd_client.post("/buy/guide/std", data={"email": "a@example.org"})
        ids.add(response.headers["location"].rsplit("/", 1)[1])
    assert len(ids) == 5
    assert all(len(i) >= 22 and not i.isdigit() for i in ids)


async def test_unknown_product_or_tier_is_404_and_creates_nothing(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_product: Product
) -> None:
    for path in ("/buy/nope/std", "/buy/guide/nope"):
        response = await gd_client.post(path, data={"email": "a@example.org"})
        assert response.status_code == 404
        assert "no product" in response.json()["error"]
    assert await count(gd_runtime, Order) == 0


async def test_bad_email_is_400_with_the_reason(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_product: Product
) -> None:
    for email, reason in (("", "required"), ("not-an-address", "not a valid e-mail")):
        response = await gd_client.post("/buy/guide/std", data={"email": email})
        assert response.status_code == 400
        assert reason in response.json()["error"]
    assert await count(gd_runtime, Order) == 0


async def test_browser_errors_are_short_html_pages(
    gd_client: httpx.AsyncClient, gd_product: Product
) -> None:
    response = await gd_client.post(
        "/buy/guide/std", data={"email": "nope"}, headers={"accept": "text/html"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "not a valid e-mail" in response.text
    assert "Traceback" not in response.text


async def test_buy_refuses_other_encodings_and_oversized_forms(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_product: Product
) -> None:
    response = await gd_client.post("/buy/guide/std", json={"email": "a@example.org"})
    assert response.status_code == 415
    big = "email=a%40example.org&notes=" + "x" * (65 * 1024)
    response = await gd_client.post("/buy/guide/std", content=big, headers=FORM)
    assert response.status_code == 413
    assert await count(gd_runtime, Order) == 0


async def test_checkout_redirects_to_the_provider_and_marks_pending(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
) -> None:
    response = await gd_client.post(f"/checkout/{gd_order.id}/fake")
    assert response.status_code == 303
    attempt_id = response.headers["location"].rsplit("/", 1)[1]
    assert attempt_id in gd_fake_provider.started
    request = gd_fake_provider.started[attempt_id]
    assert request.amount.amount_minor == 5000
    assert request.notify_url == f"http://testserver/payments/fake/notify?order={gd_order.id}"
    async with gd_runtime.db.transaction() as session:
        attempt = await session.get(PaymentAttempt, attempt_id)
        order = await session.get(Order, gd_order.id)
        assert attempt is not None
        assert order is not None
        assert attempt.state is AttemptState.PENDING
        assert order.payment_status is PaymentStatus.PENDING


async def test_a_provider_refusal_fails_the_attempt_and_says_try_again(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_fake_provider: FakeProvider,
) -> None:
    gd_fake_provider.refuse_start_with = "MINIMUM_REQUIRED_FIELDS"
    response = await gd_client.post(
        f"/checkout/{gd_order.id}/fake", headers={"accept": "text/html"}
    )
    assert response.status_code == 502
    assert "réessayez" in response.text
    assert "MINIMUM_REQUIRED_FIELDS" not in response.text
    async with gd_runtime.db.transaction() as session:
        attempt = (await session.execute(sa.select(PaymentAttempt))).scalar_one()
        assert attempt.state is AttemptState.FAILED
        reason = (
            await session.execute(
                sa.select(AuditEvent.reason).where(AuditEvent.to_state == "failed")
            )
        ).scalar_one()
        assert "MINIMUM_REQUIRED_FIELDS" in reason
        order = await session.get(Order, gd_order.id)
        assert order is not None
        assert order.payment_status is PaymentStatus.UNPAID
    # the buyer may try again: a new attempt with a new transaction id
    gd_fake_provider.refuse_start_with = None
    again = await gd_client.post(f"/checkout/{gd_order.id}/fake")
    assert again.status_code == 303
    assert await count(gd_runtime, PaymentAttempt) == 2


async def test_checkout_with_unknown_provider_or_order_is_404(
    gd_client: httpx.AsyncClient, gd_order: Order
) -> None:
    assert (await gd_client.post(f"/checkout/{gd_order.id}/paypal")).status_code == 404
    assert (await gd_client.post("/checkout/no-such-order/fake")).status_code == 404


async def test_one_client_buying_past_its_limit_gets_429(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_product: Product
) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(
        update={"inquiries_per_client_per_hour": 3}
    )
    answers = [
        await gd_client.post("/buy/guide/std", data={"email": f"b{n}@example.org"})
        for n in range(5)
    ]
    assert [a.status_code for a in answers] == [303, 303, 303, 429, 429]
    assert "try again later" in answers[-1].json()["error"]
    assert int(answers[-1].headers["retry-after"]) > 0
    assert await count(gd_runtime, Order) == 3
