"""A payment abandoned on CinetPay's page is settled by ``gated-delivery reconcile``.

The command runs as an operator runs it: its own runtime from the environment, the plugin
loaded through its entry point, the real clock, and the simulator over loopback.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from gated_delivery.config import CoreSettings
from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus
from gated_delivery.testing import FrozenClock

from .conftest import API_KEY, SECRET_KEY, SITE_ID, SimulatorServer
from .helpers import reconcile_cli


@pytest.fixture
def gd_clock() -> FrozenClock:
    """Three hours ago: attempts started here are old by the real clock the command uses."""
    return FrozenClock(datetime.now(UTC) - timedelta(hours=3))


@pytest.fixture
def operator_env(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    gd_settings: CoreSettings,
    cinetpay_server: SimulatorServer,
) -> None:
    """The environment an operator's shell would have for this shop."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GD_SANDBOX", raising=False)
    for name, value in {
        "GD_DATABASE_URL": gd_settings.database_url,
        "GD_SECRET_KEY": gd_settings.secret,
        "GD_BASE_URL": "https://shop.example.org",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "media"),
        "GD_MAIL_DIR": str(tmp_path / "mail"),
        "CINETPAY_API_URL": cinetpay_server.api_url,
        "CINETPAY_API_KEY": API_KEY,
        "CINETPAY_SITE_ID": SITE_ID,
        "CINETPAY_SECRET_KEY": SECRET_KEY,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("operator_env")
async def test_abandoned_payment_is_reconciled_to_expired_by_the_cli(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    cinetpay_server: SimulatorServer,
) -> None:
    checkout = await gd_client.post(f"/checkout/{gd_order.id}/cinetpay")
    page_url = checkout.headers["location"]
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(page_url)).status_code == 200
        back = await browser.post(page_url, data={"action": "abandon"})
    assert back.status_code == 200
    assert 'name="transaction_id"' in back.text  # sent back to the shop, with nothing paid
    (tx,) = [
        t for t in cinetpay_server.simulator.transactions.values() if t.metadata == gd_order.id
    ]
    # one notification only, WAITING_FOR_CUSTOMER, sent when the page opened (the shop here
    # is reached in-process, not over the network: the simulator could not deliver it)
    assert (tx.status, tx.deliveries) == ("WAITING_FOR_CUSTOMER", [0])

    dry = await reconcile_cli("--dry-run")
    assert "pending -> would apply expired" in dry
    assert dry.strip().endswith("would settle: 1 expired")
    real = await reconcile_cli()
    assert "pending -> expired" in real
    assert real.strip().endswith("settled: 1 expired")

    async with gd_runtime.db.transaction() as session:
        state = (
            await session.execute(
                sa.select(PaymentAttempt.state).where(PaymentAttempt.order_id == gd_order.id)
            )
        ).scalar_one()
        order = await session.get(Order, gd_order.id)
        assert order is not None
    assert state is AttemptState.EXPIRED
    assert order.payment_status is PaymentStatus.FAILED  # the buyer may try again
    # CinetPay's check still says "waiting": only the page's lifetime made it expire
    assert tx.status == "WAITING_FOR_CUSTOMER"
    assert (await reconcile_cli()).strip() == "settled: nothing to do"


@pytest.mark.usefixtures("operator_env")
async def test_a_young_waiting_payment_is_left_alone(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_clock: FrozenClock,
) -> None:
    gd_clock.advance(hours=2, minutes=40)  # 20 minutes before now: past --min-age only
    await gd_client.post(f"/checkout/{gd_order.id}/cinetpay")
    output = await reconcile_cli()
    assert "provider reports pending; left as is" in output
    assert output.strip().endswith("settled: 1 still pending")
