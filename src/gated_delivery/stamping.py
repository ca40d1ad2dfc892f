"""Stamping a delivered file with its buyer: "Licence de Awa Ndiaye — awa@… — commande …".

For a product with ``stamp_files`` on, each download of a PDF gets a footer line on every
page and a Word file a footer paragraph. The stamped copy is made from the stored original
(never changed) into a private temporary folder, streamed, then deleted; its sha256 goes
into the download's audit event, as evidence should the file turn up elsewhere. Other types
are served as stored.

The PDF is rewritten by qpdf (through pikepdf), which reads objects from the file as it
needs them and writes the copy object by object, so a large PDF is stamped without being
held in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gated_delivery import tokens
from gated_delivery.errors import ConfigurationError
from gated_delivery.models import Asset, Order
from gated_delivery.runtime import Runtime

PDF: Final = "application/pdf"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
STAMPABLE: Final = frozenset({PDF, DOCX})
CHUNK_BYTES: Final = 256 * 1024
#: Footer text size in points, and its distance from the page's bottom-left corner.
FONT_SIZE: Final = 7
MARGIN: Final = 14


def stamp_line(order: Order) -> str:
    """The footer a stamped file carries for this order."""
    who = f"{order.buyer_name} — {order.buyer_email}" if order.buyer_name else order.buyer_email
    return f"Licence de {who} — commande {order.id}"


def is_stamped(order: Order, asset: Asset) -> bool:
    """Whether downloads of ``asset`` for ``order`` are stamped."""
    return order.product.stamp_files and asset.media_type in STAMPABLE


@dataclass(frozen=True)
class StampedCopy:
    """A stamped file waiting in its temporary folder to be streamed once."""

    path: Path
    size_bytes: int
    sha256: str

    async def stream(self) -> AsyncIterator[bytes]:
        """The file in chunks; the folder is removed once it is sent (or abandoned)."""
        try:
            with self.path.open("rb") as handle:
                while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                    yield chunk
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove the copy and its folder."""
        shutil.rmtree(self.path.parent, ignore_errors=True)


async def stamped_copy_for_link(rt: Runtime, token_id: str | None) -> StampedCopy | None:
    """The stamped copy a valid link delivers, None if its file is not stamped.

    ``tokens.LinkRefused`` for a link that gives nothing. Nothing is used up here: the
    caller consumes the link once the copy exists, so a failed stamp costs the buyer nothing.
    """
    async with rt.db.transaction() as session:
        grant = await tokens.check(session, token_id, rt.clock.now())
        line = stamp_line(grant.order)
        stamped = is_stamped(grant.order, grant.asset)
    # out of the transaction: a large file must not hold a database lock while it is made
    return await stamp(rt, grant.asset, line) if stamped else None


async def stamp(rt: Runtime, asset: Asset, line: str) -> StampedCopy:
    """Copy the stored ``asset`` and stamp ``line`` on the copy."""
    folder = Path(tempfile.mkdtemp(prefix="gd-stamp-"))
    try:
        original, stamped = folder / "original", folder / "stamped"
        with original.open("wb") as handle:
            async for chunk in rt.storage.open(asset.key):
                await asyncio.to_thread(handle.write, chunk)
        stamper = _stamp_pdf if asset.media_type == PDF else _stamp_docx
        await asyncio.to_thread(stamper, original, stamped, line)
        original.unlink()
        size, digest = await asyncio.to_thread(_measure, stamped)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return StampedCopy(stamped, size, digest)


def _measure(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _pdf_text(line: str) -> bytes:
    # the standard Helvetica with WinAnsi covers French names; other letters become "?"
    raw = line.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _stamp_pdf(original: Path, out: Path, line: str) -> None:
    try:
        import pikepdf
    except ImportError:
        raise _missing() from None
    with pikepdf.open(original) as pdf:
        font = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.Type1,
                BaseFont=pikepdf.Name.Helvetica,
                Encoding=pikepdf.Name.WinAnsiEncoding,
            )
        )
        text = _pdf_text(line)
        for page in pdf.pages:
            name = page.add_resource(font, pikepdf.Name.Font, prefix="GDStamp")
            left, bottom = (float(v) for v in page.mediabox[:2])
            # the page's own drawing is wrapped in q/Q so its state cannot move our line
            page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
            footer = (
                (
                    f"\nQ\nq BT {name} {FONT_SIZE} Tf 0.35 g 1 0 0 1 {left + MARGIN:.2f} "
                    f"{bottom + MARGIN / 2:.2f} Tm ("
                ).encode()
                + text
                + b") Tj ET Q\n"
            )
            page.contents_add(pdf.make_stream(footer))
        pdf.save(out)


def _stamp_docx(original: Path, out: Path, line: str) -> None:
    try:
        import docx
    except ImportError:
        raise _missing() from None
    document = docx.Document(str(original))
    for index, section in enumerate(document.sections):
        footers = [section.footer]
        if section.different_first_page_header_footer:
            footers.append(section.first_page_footer)
        if document.settings.odd_and_even_pages_header_footer:
            footers.append(section.even_page_footer)
        for footer in footers:
            # a linked footer is the previous section's, already stamped
            if index == 0 or not footer.is_linked_to_previous:
                footer.add_paragraph(line)
    document.save(str(out))


def _missing() -> ConfigurationError:
    return ConfigurationError(
        "stamping files needs pikepdf and python-docx: "
        "pip install 'gated-delivery[stamping]', or turn stamp_files off for the product"
    )
