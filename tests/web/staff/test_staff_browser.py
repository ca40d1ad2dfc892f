"""The staff pages in a real browser (Debian's Chromium through Playwright) on a real server.

A uvicorn server on a loopback port runs the app with its embedded worker and a real SMTP
server (aiosmtpd) receiving the mail. Screenshots of the list and detail pages, desktop and
390 px wide, go to ``test-artefacts/``. SQLite only: the pages are the same on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn
from aiosmtpd.controller import Controller
from tests.web.staff.conftest import STAFF_EMAIL, STAFF_PASSWORD, pay, review_order

from gated_delivery import staff_accounts
from gated_delivery.config import CoreSettings
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider
from gated_delivery.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[3] / "test-artefacts"
#: Every wait in this file ends; a hung page fails the test instead of hanging it.
WAIT_MS = 15_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium at /usr/bin/chromium"
)
playwright_api = pytest.importorskip("playwright.async_api")


class Inbox:
    """An aiosmtpd handler keeping every message, with an event set on each arrival."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrived = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802 - aiosmtpd's name
        content: bytes = envelope.content  # type: ignore[attr-defined]
        message = email.message_from_bytes(content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.loop.call_soon_threadsafe(self.arrived.set)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def gd_backend() -> str:
    return "sqlite"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def app_port() -> int:
    return free_port()


@pytest.fixture
def gd_settings(gd_settings: CoreSettings, smtp_port: int, app_port: int) -> CoreSettings:
    return gd_settings.model_copy(
        update={
            "base_url": f"http://127.0.0.1:{app_port}",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_starttls": False,
            "mail_from": "shop@example.org",
            "embedded_worker": True,
            "worker_poll_seconds": 0.2,
        }
    )


@pytest_asyncio.fixture
async def inbox(smtp_port: int) -> AsyncIterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


@pytest_asyncio.fixture
async def server(gd_runtime: Runtime, app_port: int) -> AsyncIterator[str]:
    """The app, embedded worker included, served by uvicorn on a loopback port."""
    app = create_app(runtime=gd_runtime, run_worker=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=app_port, log_level="warning")
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    async with asyncio.timeout(WAIT_MS / 1000):
        while not uv.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{app_port}"
    uv.should_exit = True
    async with asyncio.timeout(WAIT_MS / 1000):
        await task


@pytest.fixture
def final_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "rapport-final.pdf"
    path.write_bytes(b"%PDF-1.4\n% the reviewed report\n%%EOF\n")
    return path


async def test_log_in_filter_open_upload_publish_and_the_mail_arrives(
    server: str,
    inbox: Inbox,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    final_pdf: Path,
) -> None:
    import httpx

    await staff_accounts.create_account(gd_runtime, STAFF_EMAIL, STAFF_PASSWORD)
    async with httpx.AsyncClient(base_url=server, timeout=WAIT_MS / 1000) as client:
        order = await review_order(gd_runtime, "awa@example.org")
        await review_order(gd_runtime, "other@example.org")

        async def no_jobs() -> int:
            return 0

        gd_fake_provider.base_url = server
        await pay(client, gd_fake_provider, order, no_jobs)
    ARTEFACTS.mkdir(exist_ok=True)
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page(java_script_enabled=False)
            page.set_default_timeout(WAIT_MS)
            await page.goto(f"{server}/staff/")
            assert "/staff/login" in page.url
            await page.fill("#email", STAFF_EMAIL)
            await page.fill("#password", STAFF_PASSWORD)
            await page.click("button[type=submit] >> text=Se connecter")
            await page.wait_for_url(f"{server}/staff/")
            # the worker settles the payment in the background: wait for PAID (bounded)
            for _ in range(50):
                await page.goto(f"{server}/staff/orders?payment=paid")
                if await page.locator(f"a:text('{order.id}')").count():
                    break
                await asyncio.sleep(0.2)
            await page.select_option("#f-payment", "paid")
            await page.fill("#f-q", "awa@")
            await page.click("button:text('Filtrer')")
            rows = page.locator("#orders tbody tr")
            assert await rows.count() == 1
            await page.screenshot(path=str(ARTEFACTS / "staff-list-desktop.png"), full_page=True)
            await page.click(f"a:text('{order.id}')")
            await page.wait_for_url(f"{server}/staff/orders/{order.id}")
            await page.set_input_files("#final-file", str(final_pdf))
            await page.click("button:text('Déposer la version finale')")
            await page.wait_for_url(f"**/staff/orders/{order.id}?done=uploaded")
            assert "rapport-final.pdf" in await page.locator("#finals").inner_text()
            await page.click("button:text('Publier et envoyer le lien')")
            await page.wait_for_url(f"**/staff/orders/{order.id}?done=published")
            await page.screenshot(path=str(ARTEFACTS / "staff-detail-desktop.png"), full_page=True)

            phone = await browser.new_page(
                java_script_enabled=False, viewport={"width": 390, "height": 844}
            )
            phone.set_default_timeout(WAIT_MS)
            await phone.context.add_cookies(await page.context.cookies())
            await phone.goto(f"{server}/staff/orders")
            await phone.screenshot(path=str(ARTEFACTS / "staff-list-390.png"), full_page=True)
            width = await phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the list page scrolls sideways at 390 px ({width} px)"
            await phone.goto(f"{server}/staff/orders/{order.id}")
            await phone.screenshot(path=str(ARTEFACTS / "staff-detail-390.png"), full_page=True)
            width = await phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the detail page scrolls sideways at 390 px ({width} px)"
        finally:
            await browser.close()

    async def link_mail() -> EmailMessage:
        while True:
            for message in inbox.messages:
                if "/download/" in message.get_body(("plain",)).get_content():  # type: ignore[union-attr]
                    return message
            inbox.arrived.clear()
            await inbox.arrived.wait()

    async with asyncio.timeout(WAIT_MS / 1000):
        message = await link_mail()
    assert message["To"] == "awa@example.org"
