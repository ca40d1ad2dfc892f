"""The sandbox end to end: the app (installed plugins, embedded worker, SQLite) served on a
loopback port, the simulator mounted in it, a buyer paying on its page, and the simulator's
signed webhook sent over HTTP to the address a shop registers with Wave."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from gated_delivery_wave.testing import LoopbackServer

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
            price=Money(2500, "XOF"),
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
            assert "Wave" in (await browser.get(f"/checkout/{order_id}")).text
            started = await browser.post(f"/checkout/{order_id}/wave")
            launch = started.headers["location"]
            assert launch.startswith(f"{server.url}/sandbox/wave/c/cos-")
            assert "2500 XOF" in (await browser.get(launch)).text
            back = await browser.post(launch, data={"choice": "pay"})
            assert back.headers["location"].startswith(f"{server.url}/payments/wave/return")
            status = {}
            for _ in range(100):  # webhook over HTTP, then the worker's check: bounded wait
                status = (await browser.get(f"/orders/{order_id}/status")).json()
                if status["payment"] == "paid":
                    break
                await asyncio.sleep(0.1)
            assert status["payment"] == "paid"
