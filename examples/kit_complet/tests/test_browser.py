"""A newcomer's whole visit, in Debian's Chromium, against ``kit-complet demo`` in its own process.

The demo runs as the README starts it (sandbox mode, SQLite, embedded worker, folder mail), on
a free loopback port: the CinetPay, Orange Money and OpenAI simulators answer from the same
server, so payments, signed notifications, status checks and the AI draft all cross real HTTP.
The buyer uses a phone-sized window (390 px); each of our pages must fit it without scrolling
sideways. Screenshots of every step go to ``test-artefacts/kit_complet/``.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from kit_complet.files import GUIDE_PDF

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[3] / "test-artefacts" / "kit_complet"
#: Every wait ends: a hung page fails the test instead of hanging it.
WAIT_MS = 20_000
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium at /usr/bin/chromium"
)
playwright_api = pytest.importorskip("playwright.async_api")
Page = Any  # playwright.async_api.Page, imported lazily above


@dataclass(frozen=True)
class Demo:
    """The running demo: its address, the staff credentials it printed, its mail folder."""

    url: str
    staff_email: str
    staff_password: str
    mail_dir: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _printed(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    assert found is not None, f"the demo did not print {pattern!r}:\n{output}"
    return found.group(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """``python -m kit_complet demo`` on a free port, with a fresh folder; stopped at the end."""
    folder = tmp_path_factory.mktemp("kit-demo")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GD_", "CINETPAY_", "OM_", "WAVE_"))
    }
    env.update(
        GD_SANDBOX="1",
        GD_DATABASE_URL=f"sqlite+aiosqlite:///{folder}/demo.sqlite3",
        PRIVATE_MEDIA_ROOT=str(folder / "private-media"),
        GD_MAIL_DIR=str(folder / "mail"),
        GD_BASE_URL=url,
        GD_WORKER_POLL_SECONDS="0.2",
        PYTHONUNBUFFERED="1",
    )
    env.pop("OPENAI_API_KEY", None)
    log = (folder / "demo.log").open("w+")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "kit_complet", "demo", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = _wait_until_up(url, process, folder / "demo.log")
        yield Demo(
            url=url,
            staff_email=_printed(r"identifiant\s+(\S+)", output),
            staff_password=_printed(r"mot de passe\s+(\S+)", output),
            mail_dir=folder / "mail",
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen[str], log: Path) -> str:
    for _ in range(300):
        if process.poll() is not None:
            pytest.fail(f"the demo stopped (exit {process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return log.read_text()
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # the fixture is synchronous: it runs before any event loop
    pytest.fail(f"the demo did not answer on {url}:\n{log.read_text()}")


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, with the flags this closed network needs."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def _phone(browser: Any) -> Page:
    context = await browser.new_context(viewport=PHONE, accept_downloads=True, locale="fr-FR")
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


async def _shot(page: Page, name: str, *, ours: bool = True) -> None:
    """Screenshot a step; our own pages must fit a 390 px screen."""
    await page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
    if ours:
        width = await page.evaluate("document.documentElement.scrollWidth")
        viewport = page.viewport_size["width"]
        assert width <= viewport, f"{name}: the page scrolls sideways ({width} > {viewport} px)"


async def _state(page: Page, text: str) -> None:
    """Wait until the order page says ``text`` (it polls the status endpoint itself)."""
    await page.locator("#etat", has_text=text).wait_for()


async def _pay(page: Page, provider: str, choice: str, page_says: str = "") -> None:
    """From the order page, pay with ``provider`` and make ``choice`` on its simulator page."""
    await page.click(f"button[data-provider='{provider}']")
    await page.locator(f"button:text-is('{choice}')").wait_for()
    if page_says:
        assert page_says in await page.inner_text("body")
    await _shot(page, f"{provider}-page-{choice.lower()}", ours=False)
    await page.click(f"button:text-is('{choice}')")
    await page.wait_for_url(re.compile(r"/commande/[A-Za-z0-9]+"))


async def _follow_mail_link(page: Page, demo: Demo, recipient: str, prefix: str) -> bytes:
    """Open the sandbox mailbox, the link mail sent to ``recipient``, its link; download."""
    row = page.locator("#messages tr", has_text=recipient).filter(
        has_text="Votre document est prêt"
    )
    for _ in range(100):  # the link mail is sent by the worker, just after publication
        await page.goto(f"{demo.url}/sandbox/boite-mail")
        if await row.count():
            break
        await asyncio.sleep(0.2)
    await _shot(page, f"{prefix}-mailbox")
    assert await row.count() == 1
    await row.locator("a").click()
    await _shot(page, f"{prefix}-mail")
    await page.locator("#corps a[href*='/download/']").click()
    await page.locator("button:text('Télécharger')").wait_for()
    await _shot(page, f"{prefix}-landing")
    async with page.expect_download() as event:
        await page.click("button:text('Télécharger')")
    download = await event.value
    return await asyncio.to_thread(Path(await download.path()).read_bytes)


# --- the Kit Complet with CinetPay ----------------------------------------------------

ANSWERS = {
    "organization_name": "Association Tefy Saina",
    "contact_name": "Awa Diop",
    "email": "awa@example.org",
    "location": "Thiès, Sénégal",
    "sector": "Santé communautaire",
    "mission_text": "Soins de santé primaires dans trois villages.",
    "context_text": "Notre bailleur demande un audit financier avant le renouvellement.",
    "funding_sources": "Cotisations, subvention d'une fondation",
    "staff_size": "14",
    "org_chart_text": "Une coordinatrice, un comptable, douze animateurs.",
}
SELECTS = {
    "statut_juridique": "Association",
    "budget_range": "De 10 à 50 millions XOF",
    "audits_frequency": "Une fois par an",
}


async def _fill_inquiry(page: Page, answers: dict[str, str], documents: list[Path]) -> None:
    for name, value in answers.items():
        await page.fill(f"#{name}", value)
    for name, value in SELECTS.items():
        await page.select_option(f"#{name}", value)
    await page.check("label:has-text('Audit financier') input")
    await page.check("input[name=tier][value=standard]")
    if documents:
        await page.set_input_files("#documents", [str(p) for p in documents])


async def test_kit_complet_paid_with_cinetpay_reviewed_published_and_downloaded(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    statuts = tmp_path / "statuts.pdf"
    statuts.write_bytes(b"%PDF-1.4\n% statuts de l'association\n%%EOF\n")
    bilan = tmp_path / "bilan-2025.txt"
    bilan.write_text("Bilan 2025 : total 12 500 000 XOF\n", encoding="utf-8")
    final = tmp_path / "kit-final-tefy.pdf"
    final.write_bytes(b"%PDF-1.4\n% le kit relu et complete par l'equipe\n%%EOF\n")

    page = await _phone(browser)
    await page.goto(f"{demo.url}/")
    await _shot(page, "kit-01-catalogue")
    await page.click("text=Demander mon Kit Complet")
    await _fill_inquiry(page, ANSWERS, [statuts, bilan])
    await _shot(page, "kit-02-inquiry-filled")
    await page.click("button:text('Continuer vers le paiement')")
    await page.wait_for_url(re.compile(r"/commande/[A-Za-z0-9]+$"))
    order_id = page.url.rsplit("/", 1)[1]
    await _state(page, "en attente de paiement")
    assert "statuts.pdf" in await page.inner_text("main")
    assert "bilan-2025.txt" in await page.inner_text("main")
    buttons = await page.locator("#payer button").all_inner_texts()
    # in sandbox mode each name says "(sandbox)": the simulators stand in for the providers
    assert [b.split(" (")[0] for b in buttons] == [
        "Payer avec CinetPay",
        "Payer avec Orange Money",
        "Payer avec Wave",
    ]
    await _shot(page, "kit-03-order-unpaid")

    # the sandbox offers CinetPay's current API, the one a new merchant account has
    await _pay(page, "cinetpay", "Payer", page_says="API actuelle")
    await _state(page, "payé — votre kit est en préparation")
    await _shot(page, "kit-04-order-paid")

    staff = await browser.new_page(accept_downloads=True)
    staff.set_default_timeout(WAIT_MS)
    await staff.goto(f"{demo.url}/staff/")
    await staff.fill("#email", demo.staff_email)
    await staff.fill("#password", demo.staff_password)
    await staff.click("button[type=submit] >> text=Se connecter")
    await staff.wait_for_url(f"{demo.url}/staff/")
    draft_link = staff.locator("h2:text-is('Brouillon') + ul a")
    for _ in range(150):  # the draft is written by the worker, against the OpenAI simulator
        await staff.goto(f"{demo.url}/staff/orders/{order_id}")
        if await draft_link.count():
            break
        await asyncio.sleep(0.2)
    await staff.screenshot(path=str(ARTEFACTS / "kit-05-staff-draft-ready.png"), full_page=True)
    async with staff.expect_download() as event:
        await draft_link.first.click()
    draft = await asyncio.to_thread(Path(await (await event.value).path()).read_bytes)
    with zipfile.ZipFile(io.BytesIO(draft)) as docx:
        body = docx.read("word/document.xml").decode()
    assert "Association Tefy Saina" in body  # the cover carries the organisation's name
    assert "Thiès, Sénégal" in body

    await staff.set_input_files("#final-file", str(final))
    await staff.click("button:text('Déposer la version finale')")
    await staff.wait_for_url(f"**/staff/orders/{order_id}?done=uploaded")
    await staff.click("button:text('Publier et envoyer le lien')")
    await staff.wait_for_url(f"**/staff/orders/{order_id}?done=published")
    await staff.screenshot(path=str(ARTEFACTS / "kit-06-staff-published.png"), full_page=True)

    await page.goto(f"{demo.url}/commande/{order_id}")
    await _state(page, "payé — votre lien vous a été envoyé par e-mail")
    await _shot(page, "kit-07-order-published")
    downloaded = await _follow_mail_link(page, demo, "awa@example.org", "kit-08")
    assert downloaded == final.read_bytes()


# --- the guide with Orange Money, and a refused payment retried -----------------------


async def _order_guide(page: Page, demo: Demo, name: str, email: str, prefix: str) -> str:
    await page.goto(f"{demo.url}/")
    await page.click("text=Acheter le guide")
    await page.fill("#contact_name", name)
    await page.fill("#email", email)
    await _shot(page, f"{prefix}-form")
    await page.click("button:text('Continuer vers le paiement')")
    await page.wait_for_url(re.compile(r"/commande/[A-Za-z0-9]+$"))
    return str(page.url.rsplit("/", 1)[1])


@pytest.mark.parametrize(
    ("provider", "name", "email", "prefix"),
    [
        ("orange-money", "Moussa Keita", "moussa@example.org", "guide"),
        ("wave", "Aminata Ba", "aminata@example.org", "wave"),
    ],
)
async def test_guide_paid_is_delivered_at_once(
    demo: Demo, browser: Any, provider: str, name: str, email: str, prefix: str
) -> None:
    page = await _phone(browser)
    await _order_guide(page, demo, name, email, f"{prefix}-01")
    await _shot(page, f"{prefix}-02-order-unpaid")
    await _pay(page, provider, "Payer")
    await _state(page, "payé — votre lien vous a été envoyé par e-mail")
    await _shot(page, f"{prefix}-03-order-delivered")
    downloaded = await _follow_mail_link(page, demo, email, f"{prefix}-04")
    assert downloaded == GUIDE_PDF.read_bytes()


async def test_a_refused_payment_then_the_other_provider_succeeds(demo: Demo, browser: Any) -> None:
    page = await _phone(browser)
    await _order_guide(page, demo, "Fatou Sow", "fatou@example.org", "retry-01")
    await _pay(page, "cinetpay", "Refuser")
    await _state(page, "échec — réessayer ou choisir un autre moyen")
    await _shot(page, "retry-02-order-failed")
    await _pay(page, "orange-money", "Payer")
    await _state(page, "payé — votre lien vous a été envoyé par e-mail")
    await _shot(page, "retry-03-order-paid")


# --- bad input --------------------------------------------------------------------------


async def test_bad_input_is_named_next_to_each_field_and_nothing_typed_is_lost(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    program = tmp_path / "programme.exe"
    program.write_bytes(b"MZ\x90\x00 not a document")
    page = await _phone(browser)
    await page.goto(f"{demo.url}/kit-complet")
    answers = dict(ANSWERS, email="awa-at-example", staff_size="quatorze", location="")
    await _fill_inquiry(page, answers, [program])
    await page.uncheck("label:has-text('Audit financier') input")
    # the browser's own checks would stop a person first; the server must stand on its own
    await page.evaluate("document.querySelector('form').noValidate = true")
    await page.click("button:text('Continuer vers le paiement')")
    await page.locator("#erreurs").wait_for()
    await _shot(page, "bad-01-inquiry-errors")
    errors = {
        "email": "Cette adresse e-mail n'est pas valide",
        "staff_size": "Indiquez un nombre entier",
        "location": "Ce champ est obligatoire",
        "audits_types": "Cochez au moins une case",
        "documents": "« programme.exe »",
    }
    for name, message in errors.items():
        assert message in await page.inner_text(f"#champ-{name} .error"), name
    for name in ("organization_name", "mission_text", "context_text", "org_chart_text"):
        assert await page.input_value(f"#{name}") == ANSWERS[name], name
    assert await page.input_value("#email") == "awa-at-example"
    assert await page.input_value("#statut_juridique") == "Association"
    assert await page.is_checked("input[name=tier][value=standard]")

    await page.goto(f"{demo.url}/guide")
    await page.fill("#contact_name", "Awa")
    await page.fill("#email", "pas une adresse")
    await page.evaluate("document.querySelector('form').noValidate = true")
    await page.click("button:text('Continuer vers le paiement')")
    await page.locator("#erreurs").wait_for()
    await _shot(page, "bad-02-guide-errors")
    assert "n'est pas valide" in await page.inner_text("#champ-email .error")
    assert await page.input_value("#contact_name") == "Awa"
    assert await page.input_value("#email") == "pas une adresse"


def test_a_second_demo_on_the_same_port_says_so_and_prints_no_url(
    demo: Demo, tmp_path: Path
) -> None:
    port = demo.url.rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GD_", "CINETPAY_", "OM_"))}
    env.update(GD_SANDBOX="1", GD_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/second.sqlite3")
    second = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "kit_complet", "demo", "--port", port],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 2, second.stdout + second.stderr
    assert (
        second.stderr.strip()
        == f"Error: port {port} is in use: stop the other program or pass --port"
    )
    assert "http" not in second.stdout + second.stderr
    assert "prêt" not in second.stdout
    assert not (tmp_path / "second.sqlite3").exists()  # nothing was prepared
    assert httpx.get(f"{demo.url}/readyz", timeout=5).status_code == 200  # the first one lives
