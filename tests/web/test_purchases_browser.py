""" "Mes achats" in Debian's Chromium at 390 px, without JavaScript, on a real server.

uvicorn serves the app with its embedded worker on a loopback port; mail goes to the mail
folder, read back as the buyer's mailbox. Screenshots go to ``test-artefacts/purchases/``.
SQLite only: the pages are the same on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from tests.web.staff.test_staff_browser import free_port
from tests.web.test_download import mails
from tests.web.test_purchases import GUIDE, make_order

from gated_delivery import purchases
from gated_delivery.config import CoreSettings
from gated_delivery.models import Order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, FrozenClock, pay_with_fake
from gated_delivery.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "purchases"
WAIT_MS = 15_000
PHONE = {"width": 390, "height": 844}
RunJobs = Callable[[], Awaitable[int]]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium at /usr/bin/chromium"
)
playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture
def gd_backend() -> str:
    return "sqlite"


@pytest.fixture
def app_port() -> int:
    return free_port()


@pytest.fixture
def gd_settings(gd_settings: CoreSettings, app_port: int) -> CoreSettings:
    return gd_settings.model_copy(
        update={"base_url": f"http://127.0.0.1:{app_port}", "worker_poll_seconds": 0.1}
    )


@contextlib.asynccontextmanager
async def serving(rt: Runtime, port: int) -> AsyncIterator[str]:
    """The app, embedded worker included, served by uvicorn on a loopback port."""
    app = create_app(runtime=rt, run_worker=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(WAIT_MS / 1000):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(WAIT_MS / 1000):
            await task


async def next_link(rt: Runtime, seen: int, path: str) -> tuple[str, int]:
    """The first ``path`` link in a mail after the ``seen`` first ones (the worker sends it)."""
    async with asyncio.timeout(WAIT_MS / 1000):
        while True:
            for index, message in enumerate(mails(rt.settings)[seen:], start=seen):
                body = message.get_body(("plain",))
                assert body is not None
                found = re.search(rf"(http://127\.0\.0\.1:\d+{path}\S+)", body.get_content())
                if found:
                    return found.group(1), index + 1
            await asyncio.sleep(0.1)


async def shot(page: Any, name: str) -> None:
    """Screenshot a step; the page must fit a 390 px screen."""
    await page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page scrolls sideways ({width} px)"


async def ask(page: Any, server: str, address: str) -> str:
    await page.goto(f"{server}/purchases")
    await page.fill("#email", address)
    await page.click("button:text('Recevoir mon lien')")
    await page.locator("h1:text('Vérifiez vos e-mails')").wait_for()
    return str(await page.inner_text("body"))


async def test_a_buyer_finds_two_orders_and_downloads_one_again(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
    app_port: int,
) -> None:
    orders: list[Order] = [
        await make_order(gd_runtime, "awa@example.org", "guide"),
        await make_order(gd_runtime, "awa@example.org", "modele"),
    ]
    for order in orders:
        await pay_with_fake(gd_client, gd_fake_provider, order.id, gd_run_jobs)
    seen = len(mails(gd_runtime.settings))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    async with serving(gd_runtime, app_port) as server, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = await browser.new_context(
                viewport=PHONE, java_script_enabled=False, accept_downloads=True
            )
            page = await context.new_page()
            page.set_default_timeout(WAIT_MS)
            await page.goto(f"{server}/purchases")
            await shot(page, "01-ask")
            known = await ask(page, server, "awa@example.org")
            await shot(page, "02-sent")
            unknown = await ask(page, server, "nobody@example.org")
            assert known == unknown  # nothing tells who bought

            link, seen = await next_link(gd_runtime, seen, "/purchases/open/")
            await page.goto(link)
            await shot(page, "03-open")
            await page.click("button:text('Voir mes achats')")
            await page.wait_for_url(f"{server}/purchases/orders")
            listed = page.locator("#achats li")
            assert await listed.count() == 2
            for order in orders:
                assert order.id in await page.inner_text("#achats")
            assert "payé" in await page.inner_text("#achats")
            await shot(page, "04-orders")
            row = page.locator(f"li[data-order='{orders[1].id}']")
            await row.locator("button").click()
            await page.wait_for_url(f"**/purchases/orders?sent={orders[1].id}")
            assert "nouveau lien a été envoyé" in await row.inner_text()
            await shot(page, "05-link-sent")

            download_link, seen = await next_link(gd_runtime, seen, "/download/")
            await page.goto(download_link)
            async with page.expect_download() as event:
                await page.click("button:text('Télécharger')")
            got = await (await event.value).path()
            assert await asyncio.to_thread(Path(got).read_bytes) == GUIDE

            await page.goto(link)  # the purchases link again: used
            assert "déjà servi" in await page.inner_text("h1")
            await shot(page, "06-reused")
            await page.goto(link[:-3] + ("xyz" if not link.endswith("xyz") else "abc"))
            assert "Lien inconnu" in await page.inner_text("h1")
            await shot(page, "07-tampered")
            await ask(page, server, "awa@example.org")
            late, seen = await next_link(gd_runtime, seen, "/purchases/open/")
            gd_clock.advance(timedelta(minutes=purchases.LINK_MINUTES + 1))
            await page.goto(late)
            assert "expiré" in await page.inner_text("h1")
            await shot(page, "08-expired")
        finally:
            await browser.close()
