"""The staff pages of a Kit Complet order in Chromium: labels, words and money, not codes.

The app runs on the test runtime (SQLite) under uvicorn on a loopback port; the order is
made through the inquiry form and paid through the fake provider, then a staff member reads
it in French and in English, on a desktop and a 390 px screen, and looks at the overview.
Screenshots go to ``test-artefacts/kit_complet/``.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import pytest_asyncio
import uvicorn
from kit_complet import forms

from gated_delivery import staff_accounts
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, FulfilmentState, PaymentStatus
from gated_delivery.testing import FakeProvider, pay_with_fake

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[3] / "test-artefacts" / "kit_complet"
#: Every wait in this file ends; a hung page fails the test instead of hanging it.
WAIT_MS = 20_000
#: Headless, and nothing that would reach out of this closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium at /usr/bin/chromium"
)
playwright_api = pytest.importorskip("playwright.async_api")

STAFF_EMAIL, STAFF_PASSWORD = "relecture@kit.example", "une phrase de passe assez longue"
CODES = {s.value for s in (*PaymentStatus, *FulfilmentState, *AttemptState)}
MISSION = "Soins de santé primaires.\nDans trois districts.\n\nFormation des agents."


def typed_answers() -> dict[str, str]:
    """Every question of the inquiry answered, as a browser posts them."""
    typed = {"tier": "sur-site"}
    for field in forms.INQUIRY:
        if field.kind == "checkboxes":
            typed |= {field.input_name(c): "1" for c in field.choices[::2]}
        elif field.kind == "select":
            typed[field.name] = field.choices[-1]
        elif field.kind == "email":
            typed[field.name] = "awa@example.org"
        elif field.kind == "number":
            typed[field.name] = "14"
        else:
            typed[field.name] = f"{field.label} (Tefy)"
    return {**typed, "mission_text": MISSION}


ANSWERS: Final = typed_answers()
SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


@pytest.fixture
def gd_backend() -> str:
    return "sqlite"


@pytest_asyncio.fixture
async def server(kit_app: Any) -> AsyncIterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    uv = uvicorn.Server(uvicorn.Config(kit_app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(uv.serve())
    async with asyncio.timeout(WAIT_MS / 1000):
        while not uv.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    async with asyncio.timeout(WAIT_MS / 1000):
        await task


async def paid_kit_order(client: httpx.AsyncClient, fake: FakeProvider, run: Any) -> str:
    statutes = ("documents", ("statuts.pdf", b"%PDF-1.4\n% statuts\n%%EOF\n"))
    response = await client.post("/kit-complet", data=ANSWERS, files=[statutes])
    assert response.status_code == 303, response.text
    order_id = response.headers["location"].rsplit("/", 1)[1]
    await pay_with_fake(client, fake, order_id, run)
    return order_id


def check_words(text: str, *, money: str, lang: str) -> None:
    """No raw key, no Python list, no state code; every answer under its French label.

    An English page may say "paid" in a sentence, never ``draft_ready``; a French page has
    no English state word at all.
    """
    for field in forms.INQUIRY:
        assert field.label in text, field.label
        assert field.name not in text, field.name
    assert "['" not in text
    assert "Audit financier" in text
    assert "Audit de bailleur de fonds" in text
    codes = CODES if lang == "fr" else {c for c in CODES if "_" in c}
    found = set(re.findall(r"[a-z_]+", text)) & codes
    assert not found, found
    assert money in text.translate(SPACES)


async def test_a_kit_order_reads_in_words_in_french_and_english(
    server: str,
    kit_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: Any,
) -> None:
    order_id = await paid_kit_order(kit_client, gd_fake_provider, gd_run_jobs)
    await staff_accounts.create_account(gd_runtime, STAFF_EMAIL, STAFF_PASSWORD)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            desk = await browser.new_page(java_script_enabled=False)
            desk.set_default_timeout(WAIT_MS)
            await desk.goto(f"{server}/staff/")
            await desk.fill("#email", STAFF_EMAIL)
            await desk.fill("#password", STAFF_PASSWORD)
            await desk.click("button[type=submit] >> text=Se connecter")
            await desk.wait_for_url(f"{server}/staff/")
            await desk.screenshot(path=str(ARTEFACTS / "staff-overview-fr.png"), full_page=True)
            assert await desk.locator("section.chart svg").count() == 5

            await desk.goto(f"{server}/staff/orders/{order_id}?lang=fr")
            french = await desk.inner_text("main")
            check_words(french, money="350 000 FCFA", lang="fr")
            assert "Payé" in french
            assert "Paiement confirmé par" in french
            # the paragraphs of a long answer are kept
            assert await desk.locator("#answers p.para").count() == 2
            await desk.screenshot(path=str(ARTEFACTS / "staff-order-fr.png"), full_page=True)

            await desk.goto(f"{server}/staff/orders/{order_id}?lang=en")
            english = await desk.inner_text("main")
            check_words(english, money="350,000 FCFA", lang="en")
            assert "Paid" in english
            assert "Payment confirmed by" in english
            await desk.screenshot(path=str(ARTEFACTS / "staff-order-en.png"), full_page=True)

            phone = await browser.new_page(
                java_script_enabled=False, viewport={"width": 390, "height": 844}
            )
            phone.set_default_timeout(WAIT_MS)
            await phone.context.add_cookies(await desk.context.cookies())
            for lang, money in (("fr", "350 000 FCFA"), ("en", "350,000 FCFA")):
                await phone.goto(f"{server}/staff/orders/{order_id}?lang={lang}")
                check_words(await phone.inner_text("main"), money=money, lang=lang)
                await phone.screenshot(
                    path=str(ARTEFACTS / f"staff-order-{lang}-390.png"), full_page=True
                )
                width = await phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"the order page scrolls sideways at 390 px ({width} px)"
            await phone.goto(f"{server}/staff/?lang=fr")
            await phone.screenshot(
                path=str(ARTEFACTS / "staff-overview-fr-390.png"), full_page=True
            )
            width = await phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the overview scrolls sideways at 390 px ({width} px)"
        finally:
            await browser.close()
