"""The sandbox end to end: the hooks, the simulator mounted in the app, a signed webhook.

The app runs in uvicorn on a loopback port, in sandbox mode, with the plugin registered through
its hooks. A "browser" (httpx) buys, is sent to the simulator's payment page, presses Pay; the
simulator posts the signed notification to the app; the worker's check asks the simulator.
"""

from __future__ import annotations

import asyncio
import html
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from gated_delivery_cinetpay import plugin as cinetpay_plugin

from gated_delivery.catalogue import upsert_product
from gated_delivery.config import CoreSettings
from gated_delivery.jobs.worker import Worker
from gated_delivery.models import Asset, AssetKind, Notification, Order, PaymentAttempt
from gated_delivery.money import Money
from gated_delivery.runtime import Runtime, build_runtime
from gated_delivery.states import FulfilmentState, PaymentStatus
from gated_delivery.web.app import create_app


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
async def sandbox(
    request: pytest.FixtureRequest,
    gd_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[str, Runtime]]:
    """The app in sandbox mode, served on a free loopback port in this test's event loop.

    The legacy API's simulator unless the test asks for ``"v1"`` (indirect parameter).
    """
    monkeypatch.chdir(tmp_path)
    for name in ("API_URL", "API_KEY", "API_PASSWORD", "SITE_ID", "SECRET_KEY", "LANG"):
        monkeypatch.delenv(f"CINETPAY_{name}", raising=False)
    monkeypatch.delenv("CINETPAY_CHANNELS", raising=False)
    monkeypatch.setenv("CINETPAY_SANDBOX_API", getattr(request, "param", "v2"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = CoreSettings(
        database_url=gd_database_url,
        secret_key="sandbox-test-key-" + "y" * 32,
        base_url=base,
        sandbox=True,
        private_media_root=tmp_path / "media",
        mail_dir=tmp_path / "mail",
        embedded_worker=False,
        reconcile_every_minutes=0,
    )
    rt = build_runtime(settings, plugins_extra=[cinetpay_plugin], load_entry_points=False)
    async with rt.db.transaction() as session:
        product, _ = await upsert_product(
            session,
            slug="guide",
            title="Guide #1 & co",
            tier_id="std",
            tier_label="Standard",
            price=Money(2500, "XOF"),
        )
    stored = await rt.storage.save("products/guide", _one(b"%PDF-1.7 guide"))
    async with rt.db.transaction() as session:
        session.add(
            Asset(
                product_id=product.id,
                kind=AssetKind.PRODUCT_FILE,
                storage=rt.storage.name,
                key=stored.key,
                filename="guide.pdf",
                media_type="application/pdf",
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                created_at=rt.clock.now(),
            )
        )
    app = create_app(runtime=rt, run_worker=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(1000):  # a bounded wait (10 s) for the server to listen
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "the sandbox app did not start"
    try:
        yield base, rt
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)  # its lifespan closes the runtime
        sock.close()


async def buy(browser: httpx.AsyncClient) -> str:
    response = await browser.post(
        "/buy/guide/std", data={"email": "awa@example.org", "name": "Awa"}
    )
    assert response.status_code == 303
    return str(response.headers["location"]).rsplit("/", 1)[1]


async def transaction_of(rt: Runtime, order_id: str) -> str:
    async with rt.db.transaction() as session:
        attempt = (
            await session.execute(
                sa.select(PaymentAttempt).where(PaymentAttempt.order_id == order_id)
            )
        ).scalar_one()
        return str(attempt.provider_data["transaction_id"])


async def order_row(rt: Runtime, order_id: str) -> Order:
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        return order


async def test_pay_on_the_simulator_page_sends_a_signed_webhook_and_pays(
    sandbox: tuple[str, Runtime],
) -> None:
    base, rt = sandbox
    async with httpx.AsyncClient(base_url=base, timeout=10) as browser:
        order_id = await buy(browser)
        checkout = await browser.post(f"/checkout/{order_id}/cinetpay")
        assert checkout.status_code == 303
        page_url = checkout.headers["location"]
        assert page_url.startswith(f"{base}/sandbox/cinetpay/payment/")
        page = await browser.get(page_url)
        assert "2500 XOF" in page.text
        assert "Guide 1 co" in page.text
        control = f"/sandbox/cinetpay/control/{await transaction_of(rt, order_id)}"
        tx = (await browser.get(control)).json()["transaction"]
        # CinetPay pinged the notify_url with a GET, and notified WAITING_FOR_CUSTOMER when the
        # page opened: checked, still pending
        assert (tx["pings"], tx["deliveries"], tx["status"]) == (
            [200],
            [200],
            "WAITING_FOR_CUSTOMER",
        )
        await Worker(rt).run_once()
        assert (await order_row(rt, order_id)).payment_status is PaymentStatus.PENDING
        back = await browser.post(page_url, data={"action": "pay"})
        # the notification was posted (and stored) before the buyer was sent back
        async with rt.db.transaction() as session:
            stored = (
                await session.execute(sa.select(sa.func.count()).select_from(Notification))
            ).scalar_one()
        assert stored == 2
        assert (await browser.get(control)).json()["transaction"]["deliveries"] == [200, 200]
        await Worker(rt).run_once()
        order = await order_row(rt, order_id)
        assert order.payment_status is PaymentStatus.PAID
        assert order.fulfilment_status is FulfilmentState.PUBLISHED
        # CinetPay sends the buyer back with a POST of transaction_id and token
        action = html.unescape(re.search(r'action="([^"]+)"', back.text).group(1))  # type: ignore[union-attr]
        fields = dict(re.findall(r'name="(transaction_id|token)" value="([^"]*)"', back.text))
        assert action == f"{base}/payments/cinetpay/return?order={order_id}"
        returned = await browser.post(action, data=fields)
        assert returned.status_code == 200
        status = (await browser.get(f"/orders/{order_id}/status")).json()
        assert status["paid"] is True


async def test_control_endpoint_settles_and_duplicate_webhooks_deliver_once(
    sandbox: tuple[str, Runtime],
) -> None:
    base, rt = sandbox
    async with httpx.AsyncClient(base_url=base, timeout=10) as browser:
        order_id = await buy(browser)
        await browser.post(f"/checkout/{order_id}/cinetpay")
        transaction = await transaction_of(rt, order_id)
        settled = await browser.post(
            f"/sandbox/cinetpay/control/{transaction}",
            data={"outcome": "ACCEPTED", "notify": "1", "duplicates": "3"},
        )
        assert settled.json()["deliveries"] == [200, 200, 200]
        await Worker(rt).run_once()
        order = await order_row(rt, order_id)
        assert order.payment_status is PaymentStatus.PAID
        async with rt.db.transaction() as session:
            stored = (
                await session.execute(sa.select(sa.func.count()).select_from(Notification))
            ).scalar_one()
        assert stored == 1  # three deliveries, one notification, one check, one delivery


# --- the current API's sandbox (the default for a new merchant) ----------------------------


@pytest.mark.parametrize("sandbox", ["v1"], indirect=True)
async def test_v1_pay_on_the_simulator_page_notifies_with_the_token_and_pays(
    sandbox: tuple[str, Runtime],
) -> None:
    base, rt = sandbox
    async with httpx.AsyncClient(base_url=base, timeout=10) as browser:
        order_id = await buy(browser)
        checkout = await browser.post(f"/checkout/{order_id}/cinetpay")
        assert checkout.status_code == 303
        page_url = checkout.headers["location"]
        assert page_url.startswith(f"{base}/sandbox/cinetpay/pay/")
        page = await browser.get(page_url)
        assert "2500 XOF" in page.text
        back = await browser.post(page_url, data={"action": "pay"})
        assert back.status_code == 303
        async with rt.db.transaction() as session:
            (stored,) = (await session.execute(sa.select(Notification))).scalars()
        assert '"notify_token": "[redacted]"' in stored.body_redacted
        await Worker(rt).run_once()
        order = await order_row(rt, order_id)
        assert order.payment_status is PaymentStatus.PAID
        assert order.fulfilment_status is FulfilmentState.PUBLISHED
        # the buyer is sent back to the success_url: the status page, nothing delivered there
        target = back.headers["location"]
        assert target == f"{base}/payments/cinetpay/return?order={order_id}"
        assert (await browser.get(target)).status_code == 200


@pytest.mark.parametrize("sandbox", ["v1"], indirect=True)
async def test_v1_refused_on_the_page_fails_and_the_buyer_may_try_again(
    sandbox: tuple[str, Runtime],
) -> None:
    base, rt = sandbox
    async with httpx.AsyncClient(base_url=base, timeout=10) as browser:
        order_id = await buy(browser)
        page_url = (await browser.post(f"/checkout/{order_id}/cinetpay")).headers["location"]
        back = await browser.post(page_url, data={"action": "refuse"})
        assert back.headers["location"].endswith("&cancelled=1")  # sent to the failed_url
        await Worker(rt).run_once()
        assert (await order_row(rt, order_id)).payment_status is PaymentStatus.FAILED
        again = await browser.post(f"/checkout/{order_id}/cinetpay")
        assert again.status_code == 303
