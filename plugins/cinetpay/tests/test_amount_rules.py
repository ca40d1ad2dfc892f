"""Prices CinetPay cannot take, in both API generations: warned, not offered, refused with 422.

A price CinetPay would refuse is a merchant's configuration error, not a reason to show the
buyer "try again": ``products add`` warns, the checkout page leaves CinetPay out for such an
order, and a start forced by hand is answered 422 with the reason, before anything is sent.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from gated_delivery_cinetpay import CinetPay, CinetPayV1

from gated_delivery.catalogue import upsert_product
from gated_delivery.cli import main
from gated_delivery.config import CoreSettings
from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import ProviderPlugin

from .conftest import (
    API_KEY,
    SECRET_KEY,
    SITE_ID,
    V1_API_KEY,
    V1_API_PASSWORD,
    SimulatorServer,
    V1Server,
    make_config,
    make_v1_config,
)

#: A price each generation refuses, and the words of its reason.
REFUSED = {
    "v1": (Money(50, "XOF"), "from 100 to 2 500 000"),
    "v2": (Money(2503, "XOF"), "multiples of 5"),
}


@pytest.fixture(params=["v1", "v2"])
def generation(request: pytest.FixtureRequest) -> str:
    """Which CinetPay API the test runs against."""
    return str(request.param)


@pytest.fixture
def gd_plugins(
    generation: str, cinetpay_server: SimulatorServer, v1_server: V1Server
) -> list[object]:
    """The provider of that generation, on its simulator."""
    if generation == "v1":
        return [ProviderPlugin(CinetPayV1(make_v1_config(v1_server.api_url)))]
    return [ProviderPlugin(CinetPay(make_config(cinetpay_server.api_url)))]


async def order_at(rt: Runtime, price: Money) -> Order:
    async with rt.db.transaction() as session:
        await upsert_product(
            session, slug="odd", title="Odd", tier_id="std", tier_label="Std", price=price
        )
        return await create_order(
            session,
            product_slug="odd",
            tier_id="std",
            buyer_email="awa@example.org",
            buyer_name="Awa Ndiaye",
            now=rt.clock.now(),
        )


async def test_the_checkout_page_leaves_cinetpay_out_for_such_a_price(
    generation: str, gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_order: Order
) -> None:
    good = await gd_client.get(f"/checkout/{gd_order.id}")
    assert "Payer avec CinetPay" in good.text
    refused = await order_at(gd_runtime, REFUSED[generation][0])
    page = await gd_client.get(f"/checkout/{refused.id}")
    assert page.status_code == 200
    assert "Payer avec CinetPay" not in page.text
    assert "ne prend ce montant" in page.text


async def test_a_forced_start_is_422_with_the_reason_and_sends_nothing(
    generation: str,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    cinetpay_server: SimulatorServer,
    v1_server: V1Server,
) -> None:
    price, words = REFUSED[generation]
    order = await order_at(gd_runtime, price)
    known = len(cinetpay_server.simulator.transactions) + len(v1_server.simulator.transactions)
    response = await gd_client.post(f"/checkout/{order.id}/cinetpay")
    assert response.status_code == 422
    assert words in response.json()["error"]
    assert "another payment method" in response.json()["error"]
    sent = len(cinetpay_server.simulator.transactions) + len(v1_server.simulator.transactions)
    assert sent == known
    async with gd_runtime.db.transaction() as session:
        attempts = await session.execute(
            sa.select(sa.func.count())
            .select_from(PaymentAttempt)
            .where(PaymentAttempt.order_id == order.id)
        )
        assert attempts.scalar_one() == 0


def test_products_add_warns_when_cinetpay_cannot_take_the_price(
    generation: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    gd_settings: CoreSettings,
    cinetpay_server: SimulatorServer,
    v1_server: V1Server,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GD_SANDBOX", raising=False)
    shop = {
        "GD_DATABASE_URL": gd_settings.database_url,
        "GD_SECRET_KEY": gd_settings.secret,
        "GD_BASE_URL": "https://shop.example.org",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "media"),
    }
    if generation == "v1":
        shop |= {
            "CINETPAY_API_URL": v1_server.api_url,
            "CINETPAY_API_KEY": V1_API_KEY,
            "CINETPAY_API_PASSWORD": V1_API_PASSWORD,
        }
    else:
        shop |= {
            "CINETPAY_API_URL": cinetpay_server.api_url,
            "CINETPAY_API_KEY": API_KEY,
            "CINETPAY_SITE_ID": SITE_ID,
            "CINETPAY_SECRET_KEY": SECRET_KEY,
        }
    for name, value in shop.items():
        monkeypatch.setenv(name, value)
    price, words = REFUSED[generation]
    add = ["products", "add", "odd", "--title", "Odd", "--currency", "XOF"]
    refused = CliRunner().invoke(main, [*add, "--amount", price.major_str()])
    assert refused.exit_code == 0, refused.output  # the product is added: a warning only
    assert "warning: CinetPay" in refused.stderr
    assert words in refused.stderr
    fine = CliRunner().invoke(main, [*add, "--tier", "fine", "--amount", "2500"])
    assert fine.exit_code == 0, fine.output
    assert "warning" not in fine.stderr
