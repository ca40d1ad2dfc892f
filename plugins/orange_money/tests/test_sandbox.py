"""The sandbox demo end to end: the app (installed plugins, embedded worker, SQLite) served on
a loopback port, the simulator mounted in it, and a buyer paying on its page."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from gated_delivery_orange_money.testing import LoopbackServer

from gated_delivery.catalogue import upsert_product
from gated_delivery.config import CoreSettings
from gated_delivery.db import Database
from gated_delivery.money import Money
from gated_delivery.testing import databases
from gated_delivery.web.app import create_app


async def test_sandbox_payment_from_buy_to_paid(gd_sqlite_template: Path, tmp_path: Path) -> None:
    url = databases.sqlite_copy(gd_sqlite_template, tmp_path)
    db = Database.from_url(url)
    async with db.transaction() as session:
        await upsert_product(
            session,
            slug="guide",
            title="Guide",
            tier_id="std",
            tier_label="Std",
            price=Money(5000, "XOF"),
        )
    await db.dispose()
    with LoopbackServer() as server:
        settings = CoreSettings(
            database_url=url,
            sandbox=True,
            base_url=server.url,
            private_media_root=tmp_path / "media",
            mail_dir=tmp_path / "mail",
            worker_poll_seconds=0.2,
            reconcile_every_minutes=0,
            _env_file=None,
        )
        server.serve(create_app(settings), lifespan="on")  # installed plugins, entry points
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as browser:
            bought = await browser.post("/buy/guide/std", data={"email": "awa@example.org"})
            order_id = bought.headers["location"].rsplit("/", 1)[1]
            checkout = await browser.get(f"/checkout/{order_id}")
            assert "Orange Money" in checkout.text
            started = await browser.post(f"/checkout/{order_id}/orange-money")
            payment_url = started.headers["location"]
            assert payment_url.startswith(f"{server.url}/sandbox/orange-money/payment/")
            page = await browser.get(payment_url)
            assert "5000 OUV" in page.text
            back = await browser.post(payment_url, data={"choice": "pay"})
            assert back.headers["location"].startswith(f"{server.url}/payments/orange-money/return")
            status = {}
            for _ in range(100):  # notification, then the worker's status check: bounded wait
                status = (await browser.get(f"/orders/{order_id}/status")).json()
                if status["payment"] == "paid":
                    break
                await asyncio.sleep(0.1)
            assert status["payment"] == "paid"
