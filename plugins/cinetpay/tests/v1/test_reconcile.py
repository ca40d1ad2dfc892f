"""The reconciler settles current-API payments: ``gated-delivery reconcile`` as an operator runs it.

The command builds its own runtime from the environment (the plugin through its entry point,
``CINETPAY_API_PASSWORD`` choosing the current API), logs in, and reads each payment's status
from the v1 simulator over loopback.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from gated_delivery.config import CoreSettings
from gated_delivery.models import Order, PaymentAttempt
from gated_delivery.plugin_types import ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, PaymentStatus
from gated_delivery.testing import FrozenClock

from ..conftest import V1_API_KEY, V1_API_PASSWORD, V1Control, V1Server
from ..helpers import reconcile_cli, start


@pytest.fixture
def gd_clock() -> FrozenClock:
    """Three hours ago: attempts started here are old by the real clock the command uses."""
    return FrozenClock(datetime.now(UTC) - timedelta(hours=3))


@pytest.fixture
def operator_env(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    gd_settings: CoreSettings,
    v1_server: V1Server,
) -> None:
    """The environment an operator's shell would have for a shop on the current API."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GD_SANDBOX", raising=False)
    for name, value in {
        "GD_DATABASE_URL": gd_settings.database_url,
        "GD_SECRET_KEY": gd_settings.secret,
        "GD_BASE_URL": "https://shop.example.org",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "media"),
        "GD_MAIL_DIR": str(tmp_path / "mail"),
        "CINETPAY_API_URL": v1_server.api_url,
        "CINETPAY_API_KEY": V1_API_KEY,
        "CINETPAY_API_PASSWORD": V1_API_PASSWORD,
    }.items():
        monkeypatch.setenv(name, value)


async def attempt_state(rt: Runtime, order: Order) -> tuple[AttemptState, PaymentStatus]:
    async with rt.db.transaction() as session:
        state = (
            await session.execute(
                sa.select(PaymentAttempt.state).where(PaymentAttempt.order_id == order.id)
            )
        ).scalar_one()
        row = await session.get(Order, order.id)
        assert row is not None
        return state, row.payment_status


@pytest.mark.usefixtures("operator_env")
async def test_an_abandoned_payment_is_expired_by_the_cli(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_order: Order, v1_server: V1Server
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    assert v1_server.simulator.transactions[attempt.attempt_id].status == "INITIATED"
    assert (await reconcile_cli("--dry-run")).strip().endswith("would settle: 1 expired")
    assert (await reconcile_cli()).strip().endswith("settled: 1 expired")
    assert await attempt_state(gd_runtime, gd_order) == (AttemptState.EXPIRED, PaymentStatus.FAILED)


@pytest.mark.usefixtures("operator_env")
async def test_a_lost_notification_is_caught_up_by_the_cli(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, ReportedStatus.SUCCEEDED)  # never notified
    output = await reconcile_cli()
    assert "pending -> succeeded" in output
    assert await attempt_state(gd_runtime, gd_order) == (AttemptState.SUCCEEDED, PaymentStatus.PAID)


@pytest.mark.usefixtures("operator_env")
async def test_cinetpays_expired_status_expires_the_payment(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    gd_clock: FrozenClock,
) -> None:
    gd_clock.advance(hours=2, minutes=40)  # young: only CinetPay's own answer can expire it
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, ReportedStatus.EXPIRED)
    assert (await reconcile_cli()).strip().endswith("settled: 1 expired")
    assert await attempt_state(gd_runtime, gd_order) == (AttemptState.EXPIRED, PaymentStatus.FAILED)
