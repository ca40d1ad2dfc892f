"""Delivered files stamped with their buyer (stamping.py), through the download route."""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import docx
import httpx
import pikepdf
import pytest
import sqlalchemy as sa
from tests.web.test_download import link_in, mails

from gated_delivery import stamping
from gated_delivery.catalogue import add_product_file, set_buyer_options, upsert_product
from gated_delivery.models import Asset, AuditEvent, Order
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, pay_with_fake

RunJobs = Callable[[], Awaitable[int]]
PDFTOTEXT = shutil.which("pdftotext")


def make_pdf(pages: int = 2) -> bytes:
    pdf = pikepdf.new()
    for number in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
        page = pdf.pages[-1]
        font = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Courier
            )
        )
        page.add_resource(font, pikepdf.Name.Font, name=pikepdf.Name.F1)
        # a page that leaves its graphics state changed: the stamp must not inherit it
        body = f"BT /F1 14 Tf 72 760 Td (Guide page {number + 1}) Tj ET 0.2 0 0 0.2 0 0 cm"
        page.contents_add(pdf.make_stream(body.encode()))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def make_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Modèle de rapport")
    document.add_section()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


Buy = Callable[..., Awaitable[tuple[Order, Asset]]]


@pytest.fixture
def buy(
    gd_runtime: Runtime,
    gd_client: httpx.AsyncClient,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    tmp_path: Path,
) -> Buy:
    """Makes a paid order (Awa Ndiaye) of a product whose file is ``content``."""

    async def paid_order_for_file(
        *, content: bytes, filename: str, media_type: str, stamp: bool = True
    ) -> tuple[Order, Asset]:
        rt = gd_runtime
        async with rt.db.transaction() as session:
            product, _ = await upsert_product(
                session,
                slug="modele",
                title="Modèle",
                tier_id="std",
                tier_label="Standard",
                price=Money(5000, "XOF"),
            )
            await set_buyer_options(session, "modele", stamp_files=stamp)
        source = tmp_path / "product-file"
        source.write_bytes(content)
        asset = await add_product_file(
            rt, product.id, source, filename=filename, media_type=media_type
        )
        async with rt.db.transaction() as session:
            order = await create_order(
                session,
                product_slug="modele",
                tier_id="std",
                buyer_email="awa@example.org",
                buyer_name="Awa Ndiaye",
                now=rt.clock.now(),
            )
        await pay_with_fake(gd_client, gd_fake_provider, order.id, gd_run_jobs)
        return order, asset

    return paid_order_for_file


async def download(rt: Runtime, client: httpx.AsyncClient) -> httpx.Response:
    [ready] = [m for m in mails(rt.settings) if "prêt" in str(m["Subject"])]
    url = link_in(ready)
    landing = await client.get(url)
    assert landing.status_code == 200
    response = await client.post(url)
    assert response.status_code == 200
    response.extensions["landing"] = landing.text
    return response


async def stored_bytes(rt: Runtime, asset: Asset) -> bytes:
    return b"".join([chunk async for chunk in rt.storage.open(asset.key)])


async def consumed_evidence(rt: Runtime) -> object:
    async with rt.db.transaction() as session:
        event = await session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "consumed"))
    assert event is not None
    return event.data.get("stamped_sha256")


@pytest.mark.skipif(PDFTOTEXT is None, reason="reading the PDF back needs poppler's pdftotext")
async def test_a_pdf_carries_the_buyer_on_every_page_and_the_original_is_kept(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    buy: Buy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    original = make_pdf(pages=2)
    order, asset = await buy(
        content=original,
        filename="modele.pdf",
        media_type=stamping.PDF,
    )
    response = await download(gd_runtime, gd_client)
    assert "portera votre nom" in response.extensions["landing"]
    assert response.content != original
    assert response.headers["content-length"] == str(len(response.content))
    path = tmp_path / "got.pdf"
    path.write_bytes(response.content)
    assert PDFTOTEXT is not None
    done = await asyncio.to_thread(
        subprocess.run,
        [PDFTOTEXT, "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    text = done.stdout
    pages = text.split("\f")
    expected = f"Licence de Awa Ndiaye — awa@example.org — commande {order.id}"
    assert [expected in page for page in pages[:2]] == [True, True]
    assert "Guide page 1" in pages[0]
    assert await stored_bytes(gd_runtime, asset) == original
    assert hashlib.sha256(original).hexdigest() == asset.sha256
    assert await consumed_evidence(gd_runtime) == hashlib.sha256(response.content).hexdigest()
    assert list((tmp_path / "tmp").iterdir()) == []  # the stamped copy is gone once sent


async def test_a_word_file_gets_a_footer_paragraph_in_each_section(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    buy: Buy,
) -> None:
    original = make_docx()
    order, asset = await buy(
        content=original,
        filename="modele.docx",
        media_type=stamping.DOCX,
    )
    response = await download(gd_runtime, gd_client)
    document = docx.Document(io.BytesIO(response.content))
    footer = [p.text for p in document.sections[0].footer.paragraphs]
    expected = f"Licence de Awa Ndiaye — awa@example.org — commande {order.id}"
    assert footer.count(expected) == 1  # the second section's footer is linked: not twice
    assert document.paragraphs[0].text == "Modèle de rapport"
    assert await stored_bytes(gd_runtime, asset) == original
    assert await consumed_evidence(gd_runtime) == hashlib.sha256(response.content).hexdigest()


async def test_other_types_are_served_as_stored_and_the_page_says_so(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    buy: Buy,
) -> None:
    original = b"PK\x03\x04 a zip of templates"
    await buy(
        content=original,
        filename="modeles.zip",
        media_type="application/zip",
    )
    response = await download(gd_runtime, gd_client)
    assert response.content == original
    assert "sans votre nom" in response.extensions["landing"]
    assert await consumed_evidence(gd_runtime) is None


async def test_stamping_is_off_unless_the_product_asks(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    buy: Buy,
) -> None:
    original = make_pdf(pages=1)
    await buy(
        content=original,
        filename="modele.pdf",
        media_type=stamping.PDF,
        stamp=False,
    )
    response = await download(gd_runtime, gd_client)
    assert response.content == original
    assert 'id="marquage"' not in response.extensions["landing"]


def test_the_footer_line_escapes_pdf_syntax_and_replaces_what_helvetica_lacks() -> None:
    assert stamping._pdf_text("Awa (Ndiaye) \\ é 李") == b"Awa \\(Ndiaye\\) \\\\ \xe9 ?"


async def test_the_checkout_page_says_which_files_are_stamped(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_order: Order
) -> None:
    page = await gd_client.get(f"/checkout/{gd_order.id}")
    assert 'id="marquage"' not in page.text
    async with gd_runtime.db.transaction() as session:
        await set_buyer_options(session, "guide", stamp_files=True)
    page = await gd_client.get(f"/checkout/{gd_order.id}")
    assert "autres types sont fournis tels quels" in page.text
