"""Card payments on the legacy API: the customer fields CinetPay needs, from the order's answers.

CinetPay's PHP SDK requires every customer_* field with the card option; the plugin sends what
the order holds (the answers named in ``BUYER_DETAIL_KEYS``) and, when cards are the only
channel, refuses a start that lacks one, before anything is sent.
"""

from __future__ import annotations

import httpx
import pytest
from gated_delivery_cinetpay import CinetPay

from gated_delivery.models import Order, Product
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import ProviderPlugin

from .conftest import SimulatorServer, make_config
from .helpers import start


def card_provider(server: SimulatorServer) -> CinetPay:
    return CinetPay(make_config(server.api_url, channels="CREDIT_CARD"))


@pytest.fixture
def gd_plugins(cinetpay_server: SimulatorServer) -> list[object]:
    """A CinetPay provider that asks for cards only (``CINETPAY_CHANNELS=CREDIT_CARD``)."""
    return [ProviderPlugin(card_provider(cinetpay_server))]


CARD_ANSWERS = {
    "phone": "+221770000000",
    "address": "12 rue Carnot",
    "city": "Dakar",
    "state": "Dakar",
    "zip_code": "10200",
    "country": "sn",
}


async def card_order(rt: Runtime, answers: dict[str, str]) -> Order:
    async with rt.db.transaction() as session:
        return await create_order(
            session,
            product_slug="guide",
            tier_id="std",
            buyer_email="awa@example.org",
            buyer_name="Awa Ndiaye",
            answers=answers,
            now=rt.clock.now(),
        )


async def test_a_card_start_sends_the_customer_fields_from_the_order(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_product: Product,
    cinetpay_server: SimulatorServer,
) -> None:
    order = await card_order(gd_runtime, CARD_ANSWERS)
    attempt = await start(gd_client, gd_runtime, order)
    tx = cinetpay_server.simulator.transactions[attempt.provider_data["transaction_id"]]
    assert tx.channels == "CREDIT_CARD"
    assert tx.customer == {
        "customer_name": "Ndiaye",
        "customer_surname": "Awa",
        "customer_email": "awa@example.org",
        "customer_phone_number": "+221770000000",
        "customer_address": "12 rue Carnot",
        "customer_city": "Dakar",
        "customer_country": "SN",
        "customer_state": "Dakar",
        "customer_zip_code": "10200",
    }


async def test_a_card_start_without_the_answers_is_422_and_sends_nothing(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_product: Product,
    cinetpay_server: SimulatorServer,
) -> None:
    order = await card_order(gd_runtime, {"phone": "+221770000000"})
    known = len(cinetpay_server.simulator.transactions)
    response = await gd_client.post(f"/checkout/{order.id}/cinetpay")
    assert response.status_code == 422
    assert "address, city, country, state, zip_code" in response.json()["error"]
    assert len(cinetpay_server.simulator.transactions) == known
