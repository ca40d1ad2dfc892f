"""The streamed multipart intake (the uploads package, through its Starlette adapter).

Behaviour tests run twice: on the local folder backend and on ``MemoryStorage`` below, an
in-memory backend with other habits (any key, chunks kept as sent, a capacity that fails
like a full disk), which shows the intake relies on the ``StorageBackend`` protocol only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import hashlib
import io
import random
import re
import socket
import struct
import threading
import zipfile
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gated_delivery.default_plugins.local_storage import LocalStorage
from gated_delivery.plugin_protocols import StorageBackend
from gated_delivery.plugin_types import StoredObject
from gated_delivery.uploads import (
    DOCX,
    JPEG,
    PDF,
    PNG,
    TXT,
    XLSX,
    UploadLimits,
    UploadRefused,
    receive_stream,
    receive_upload,
    sanitize_filename,
)

KIB: Final = 1024
MIB: Final = 1024 * KIB
KEY_PREFIX: Final = "inquiry-0001"
BOUNDARY: Final = "gd-test-boundary-7f3a9c"
MULTIPART: Final = f"multipart/form-data; boundary={BOUNDARY}"
#: How far past a limit the intake may read: it feeds the parser 64 KiB at a time.
FEED_SLACK: Final = 64 * KIB
#: The largest chunk the intake hands to storage: 256 KiB plus at most one feed.
STORE_CHUNK_MAX: Final = 256 * KIB + FEED_SLACK


# --- a second storage backend ---------------------------------------------------------


class MemoryStorage:
    """Files in a dict, kept as the chunks they arrived in; nothing is kept until whole.

    ``bytes_received`` counts every byte handed to ``save``, kept or not, and
    ``largest_chunk`` the largest chunk: both show what the intake fed the backend.
    """

    name = "memory"

    def __init__(self, capacity_bytes: int | None = None) -> None:
        self.objects: dict[str, list[bytes]] = {}
        self.capacity_bytes = capacity_bytes
        self.bytes_received = 0
        self.largest_chunk = 0

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredObject:
        kept: list[bytes] = []
        digest, size = hashlib.sha256(), 0
        used = sum(len(c) for parts in self.objects.values() for c in parts)
        async for chunk in chunks:
            self.bytes_received += len(chunk)
            self.largest_chunk = max(self.largest_chunk, len(chunk))
            size += len(chunk)
            if self.capacity_bytes is not None and used + size > self.capacity_bytes:
                raise OSError(errno.ENOSPC, "memory storage is full")
            digest.update(chunk)
            kept.append(chunk)
        self.objects[key] = kept
        return StoredObject(key=key, size_bytes=size, sha256=digest.hexdigest())

    async def open(self, key: str) -> AsyncIterator[bytes]:
        if key not in self.objects:
            raise FileNotFoundError(key)
        for chunk in self.objects[key]:
            yield chunk

    async def delete(self, key: str) -> None:
        self.objects.pop(key, None)


@dataclass
class Backend:
    """A storage backend under test and a way to list what it still holds."""

    storage: StorageBackend
    root: Path | None = None

    def leftovers(self) -> list[str]:
        """Every stored object, or for the local folder every file, temp files included."""
        if isinstance(self.storage, MemoryStorage):
            return sorted(self.storage.objects)
        assert self.root is not None
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    async def read(self, key: str) -> bytes:
        return b"".join([chunk async for chunk in self.storage.open(key)])


@pytest.fixture(params=["local", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        root = tmp_path / "media"
        return Backend(LocalStorage(root), root)
    return Backend(MemoryStorage())


# --- request bodies ---------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One multipart part; ``filename`` None makes it a text field."""

    name: bytes
    value: bytes
    filename: bytes | None = None
    content_type: bytes = b"application/octet-stream"

    def head(self) -> bytes:
        disposition = b'form-data; name="' + self.name + b'"'
        if self.filename is None:
            return b"Content-Disposition: " + disposition + b"\r\n\r\n"
        disposition += b'; filename="' + self.filename + b'"'
        return (
            b"Content-Disposition: "
            + disposition
            + b"\r\nContent-Type: "
            + self.content_type
            + b"\r\n\r\n"
        )


def field(name: str, value: str | bytes) -> Part:
    return Part(name.encode(), value.encode() if isinstance(value, str) else value)


def file(name: str, filename: str | bytes, content: bytes) -> Part:
    raw_name = filename.encode() if isinstance(filename, str) else filename
    return Part(name.encode(), content, raw_name)


def delimiter() -> bytes:
    return b"--" + BOUNDARY.encode() + b"\r\n"


def closing() -> bytes:
    return b"--" + BOUNDARY.encode() + b"--\r\n"


def multipart(*parts: Part, is_closed: bool = True) -> bytes:
    body = b"".join(delimiter() + p.head() + p.value + b"\r\n" for p in parts)
    return body + closing() if is_closed else body


def large_file_part(name: str, filename: str, head: bytes, size: int) -> Iterator[bytes]:
    """A file part of ``size`` bytes starting with ``head``, produced 16 KiB at a time."""
    yield delimiter() + Part(name.encode(), b"", filename.encode()).head() + head
    filler = b"x" * (16 * KIB)
    left = size - len(head)
    while left > 0:
        yield filler[:left]
        left -= len(filler)
    yield b"\r\n"


class CountingBody:
    """A request body produced on demand, counting how much was asked for."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = pieces
        self.produced = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            self.produced += len(piece)
            yield piece


def in_chunks(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


# --- sample files ----------------------------------------------------------------------


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
        b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
        b"trailer <</Root 1 0 R>>\n%%EOF\n"
    )


def png_bytes() -> bytes:
    """A 1x1 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """An 8x8 grey baseline JPEG: one block, DC and AC tables of a single code each."""
    table = b"\x01" + b"\x00" * 15 + b"\x00"  # one code of length 1, for symbol 0
    return (
        b"\xff\xd8"
        + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xdb\x00\x43\x00"
        + b"\x01" * 64
        + b"\xff\xc0\x00\x0b\x08\x00\x08\x00\x08\x01\x01\x11\x00"
        + b"\xff\xc4\x00\x14\x00"
        + table
        + b"\xff\xc4\x00\x14\x10"
        + table
        + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
        + b"\x3f"  # DC difference 0, end of block, padded with ones
        + b"\xff\xd9"
    )


CONTENT_TYPES_HEAD: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
)
RELS_HEAD: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
)
OFFICE_DOCUMENT: Final = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx_bytes(extra: dict[str, bytes] | None = None) -> bytes:
    """A one-paragraph Word document."""
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    return zip_bytes(
        {
            "[Content_Types].xml": (
                f'{CONTENT_TYPES_HEAD}<Override PartName="/word/document.xml" '
                f'ContentType="{main}"/></Types>'
            ).encode(),
            "_rels/.rels": (
                f'{RELS_HEAD}<Relationship Id="rId1" Type="{OFFICE_DOCUMENT}" '
                'Target="word/document.xml"/></Relationships>'
            ).encode(),
            "word/document.xml": (
                b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
                b'2006/main"><w:body><w:p><w:r><w:t>Bonjour</w:t></w:r></w:p></w:body>'
                b"</w:document>"
            ),
            **(extra or {}),
        }
    )


def xlsx_bytes() -> bytes:
    """A workbook with one sheet and one cell."""
    spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    sheet_rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
    main_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return zip_bytes(
        {
            "[Content_Types].xml": (
                f'{CONTENT_TYPES_HEAD}<Override PartName="/xl/workbook.xml" '
                f'ContentType="{spreadsheet}.sheet.main+xml"/>'
                '<Override PartName="/xl/worksheets/sheet1.xml" '
                f'ContentType="{spreadsheet}.worksheet+xml"/></Types>'
            ).encode(),
            "_rels/.rels": (
                f'{RELS_HEAD}<Relationship Id="rId1" Type="{OFFICE_DOCUMENT}" '
                'Target="xl/workbook.xml"/></Relationships>'
            ).encode(),
            "xl/workbook.xml": (
                f'<workbook xmlns="{main_ns}" xmlns:r="{rel_ns}"><sheets>'
                '<sheet name="Feuil1" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ).encode(),
            "xl/_rels/workbook.xml.rels": (
                f'{RELS_HEAD}<Relationship Id="rId1" Type="{sheet_rel}" '
                'Target="worksheets/sheet1.xml"/></Relationships>'
            ).encode(),
            "xl/worksheets/sheet1.xml": (
                f'<worksheet xmlns="{main_ns}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
                "<is><t>Bonjour</t></is></c></row></sheetData></worksheet>"
            ).encode(),
        }
    )


def exe_bytes() -> bytes:
    """The start of a Windows executable: an MZ header, full of NUL bytes."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


TEXT: Final = "Bonjour, voici ma demande : délai 3 jours.\n".encode()


# --- the app under test ------------------------------------------------------------------


def make_app(storage: StorageBackend, limits: UploadLimits | None = None) -> Starlette:
    """One POST route that receives an upload and answers what it got, or why not."""

    async def upload(request: Request) -> Response:
        try:
            received = await receive_upload(
                request, storage, limits or UploadLimits(), key_prefix=KEY_PREFIX
            )
        except UploadRefused as exc:
            refusal = {
                "limit": exc.limit,
                "field": exc.field,
                "filename": exc.filename,
                "fr": exc.message_fr,
                "en": exc.message_en,
                "fields": exc.fields,
            }
            # the rest of the body is not wanted: let the server drop the connection
            return JSONResponse(refusal, exc.status_code, headers={"connection": "close"})
        files = [dataclasses.asdict(f) for f in received.files]
        return JSONResponse({"fields": received.fields, "files": files})

    return Starlette(routes=[Route("/upload", upload, methods=["POST"])])


async def post(
    app: ASGIApp,
    content: bytes | CountingBody,
    *,
    content_type: str = MULTIPART,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post(
            "/upload", content=content, headers={"content-type": content_type, **(headers or {})}
        )


async def upload(
    backend: Backend, body: bytes | CountingBody, limits: UploadLimits | None = None
) -> httpx.Response:
    return await post(make_app(backend.storage, limits), body)


def refusal(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert "limit" in body, body
    return body


# --- accepted uploads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content", "media_type", "shown_as"),
    [
        ("rapport.pdf", pdf_bytes(), PDF, "rapport.pdf"),
        ("photo.PNG", png_bytes(), PNG, "photo.PNG"),
        ("scan.jpeg", jpeg_bytes(), JPEG, "scan.jpeg"),
        ("notes.txt", TEXT, TXT, "notes.txt"),
        ("lettre.docx", docx_bytes(), DOCX, "lettre.docx"),
        ("budget.xlsx", xlsx_bytes(), XLSX, "budget.xlsx"),
    ],
    ids=["pdf", "png", "jpeg", "txt", "docx", "xlsx"],
)
async def test_each_allowed_type_is_stored_and_measured(
    backend: Backend, filename: str, content: bytes, media_type: str, shown_as: str
) -> None:
    response = await upload(backend, multipart(file("document", filename, content)))
    assert response.status_code == 200, response.text
    (received,) = response.json()["files"]
    assert received["field"] == "document"
    assert received["filename"] == shown_as
    assert received["media_type"] == media_type
    assert received["size_bytes"] == len(content)
    assert received["sha256"] == hashlib.sha256(content).hexdigest()
    assert received["key"].startswith(f"{KEY_PREFIX}/")
    assert await backend.read(received["key"]) == content
    assert backend.leftovers() == [received["key"]]


async def test_fields_and_files_survive_any_chunking(backend: Backend) -> None:
    body = multipart(
        field("name", "Awa Ndiaye"),
        file("first", "a.pdf", pdf_bytes()),
        field("message", "Voici mes pièces, merci ✓"),
        file("second", "b.png", png_bytes()),
        file("third", "c.docx", docx_bytes()),
    )
    # 7-byte chunks split boundaries, headers and signatures across reads
    response = await upload(backend, CountingBody(in_chunks(body, 7)))
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["fields"] == {"name": "Awa Ndiaye", "message": "Voici mes pièces, merci ✓"}
    assert [(f["field"], f["media_type"]) for f in got["files"]] == [
        ("first", PDF),
        ("second", PNG),
        ("third", DOCX),
    ]
    assert len(backend.leftovers()) == 3


async def test_a_file_of_exactly_the_limit_is_accepted(backend: Backend) -> None:
    content = b"%PDF-1.7\n" + b"0" * (256 * KIB - 9)
    limits = UploadLimits(max_file_bytes=256 * KIB)
    response = await upload(backend, multipart(file("f", "big.pdf", content)), limits)
    assert response.status_code == 200, response.text
    assert response.json()["files"][0]["size_bytes"] == 256 * KIB


async def test_files_reach_storage_in_bounded_chunks() -> None:
    storage = MemoryStorage()
    content = b"%PDF-1.7\n" + bytes(range(256)) * (8 * KIB)  # 2 MiB
    response = await post(make_app(storage), multipart(file("f", "big.pdf", content)))
    assert response.status_code == 200, response.text
    assert storage.largest_chunk <= STORE_CHUNK_MAX  # never the file whole, though sent whole
    (key,) = storage.objects
    assert b"".join(storage.objects[key]) == content


class StalledStorage(MemoryStorage):
    """Reads nothing until ``release`` is set, like a backend stuck on a slow disk."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredObject:
        await self.release.wait()
        return await super().save(key, chunks)


async def run_until_idle(body: CountingBody) -> None:
    """Let every task run until the body stops being read (no clock involved)."""
    unchanged = 0
    for _ in range(10_000):
        before = body.produced
        await asyncio.sleep(0)
        unchanged = unchanged + 1 if body.produced == before else 0
        if unchanged == 100:
            return


async def test_a_slow_backend_slows_the_reading_instead_of_filling_memory() -> None:
    storage = StalledStorage()
    body = CountingBody([*large_file_part("f", "big.pdf", b"%PDF-1.7\n", 8 * MIB), closing()])
    sending = asyncio.create_task(post(make_app(storage), body))
    await run_until_idle(body)
    # a few chunks wait for the backend; the rest of the 8 MiB was not asked for
    assert body.produced < 2 * MIB
    storage.release.set()
    response = await sending
    assert response.status_code == 200, response.text
    assert response.json()["files"][0]["size_bytes"] == 8 * MIB


async def test_empty_file_inputs_are_skipped(backend: Backend) -> None:
    body = multipart(
        file("attachment", "", b""),  # what a browser sends when no file was chosen
        file("other", "vide.pdf", b""),
        field("message", "sans pièce jointe"),
    )
    response = await upload(backend, body, UploadLimits(max_files=1))
    assert response.status_code == 200, response.text
    assert response.json() == {"fields": {"message": "sans pièce jointe"}, "files": []}
    assert backend.leftovers() == []


async def test_empty_inputs_do_not_count_as_files(backend: Backend) -> None:
    body = multipart(file("a", "", b""), file("b", "", b""), file("c", "x.pdf", pdf_bytes()))
    response = await upload(backend, body, UploadLimits(max_files=1))
    assert response.status_code == 200, response.text
    assert len(response.json()["files"]) == 1


# --- types, told by content -----------------------------------------------------------------


async def test_an_exe_renamed_pdf_is_refused(backend: Backend) -> None:
    body = multipart(
        file("first", "ok.pdf", pdf_bytes()), file("second", "rapport.pdf", exe_bytes())
    )
    response = await upload(backend, body)
    assert response.status_code == 400
    got = refusal(response)
    assert got["limit"] == "type"
    assert got["field"] == "second"
    assert got["filename"] == "rapport.pdf"
    assert backend.leftovers() == []


async def test_the_type_refusal_names_the_file_and_the_allowed_types(backend: Backend) -> None:
    response = await upload(backend, multipart(file("f", "rapport.exe", exe_bytes())))
    got = refusal(response)
    allowed = "PDF, DOCX, XLSX, PNG, JPEG, TXT"
    assert got["fr"] == f"« rapport.exe » : type de fichier non accepté ({allowed})"
    assert got["en"] == f'"rapport.exe": file type not accepted ({allowed})'


async def test_a_png_renamed_txt_is_a_png(backend: Backend) -> None:
    response = await upload(backend, multipart(file("f", "notes.txt", png_bytes())))
    assert response.status_code == 200, response.text
    (received,) = response.json()["files"]
    assert received["media_type"] == PNG
    assert received["filename"] == "notes.png"  # the shown name follows the content


async def test_a_png_renamed_txt_is_refused_when_png_is_not_allowed(backend: Backend) -> None:
    limits = UploadLimits(allowed_media_types=frozenset({PDF, TXT}))
    response = await upload(backend, multipart(file("f", "notes.txt", png_bytes())), limits)
    assert response.status_code == 400
    got = refusal(response)
    assert got["limit"] == "type"
    assert got["en"] == '"notes.txt": file type not accepted (PDF, TXT)'
    assert backend.leftovers() == []


async def test_a_docx_that_is_really_a_spreadsheet_is_an_xlsx(backend: Backend) -> None:
    response = await upload(backend, multipart(file("f", "budget.docx", xlsx_bytes())))
    assert response.status_code == 200, response.text
    (received,) = response.json()["files"]
    assert received["media_type"] == XLSX
    assert received["filename"] == "budget.xlsx"


async def test_a_docx_is_refused_when_only_xlsx_is_allowed(backend: Backend) -> None:
    limits = UploadLimits(allowed_media_types=frozenset({XLSX}))
    response = await upload(backend, multipart(file("f", "budget.xlsx", docx_bytes())), limits)
    assert refusal(response)["limit"] == "type"
    assert backend.leftovers() == []


async def test_a_docx_larger_than_the_kept_tail_is_recognised(backend: Backend) -> None:
    # 3 MiB of incompressible media pushes the central directory far from the start
    image = random.Random(4).randbytes(3 * MIB)
    content = docx_bytes({"word/media/image1.png": image})
    response = await upload(backend, multipart(file("f", "gros.docx", content)))
    assert response.status_code == 200, response.text
    assert response.json()["files"][0]["media_type"] == DOCX


@pytest.mark.parametrize(
    "content",
    [
        zip_bytes({"readme.txt": b"just a zip"}),
        zip_bytes({"[Content_Types].xml": b"<Types/>", "word/a.xml": b"", "xl/b.xml": b""}),
        zip_bytes({"[Content_Types].xml": b"<Types/>"})[:-10],  # cut short: no directory
    ],
    ids=["plain-zip", "both-word-and-xl", "truncated"],
)
async def test_other_zip_files_are_refused(backend: Backend, content: bytes) -> None:
    response = await upload(backend, multipart(file("f", "archive.docx", content)))
    assert refusal(response)["limit"] == "type"
    assert backend.leftovers() == []


@pytest.mark.parametrize(
    "content",
    [
        b"plain text with a NUL\x00 inside",
        "latin-1 é".encode("latin-1"),
        "ends in a cut sequence é".encode()[:-1],
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00",
    ],
    ids=["nul", "latin-1", "cut-utf-8", "gif"],
)
async def test_text_must_be_utf8_without_nul(backend: Backend, content: bytes) -> None:
    response = await upload(backend, multipart(file("f", "notes.txt", content)))
    assert refusal(response)["limit"] == "type"
    assert backend.leftovers() == []


async def test_binary_is_refused_while_streaming_not_at_the_end(backend: Backend) -> None:
    # a NUL early in a large "text" file ends the upload there
    body = CountingBody([*large_file_part("f", "a.txt", b"text\x00", 4 * MIB), closing()])
    response = await upload(backend, body)
    assert refusal(response)["limit"] == "type"
    assert body.produced < 256 * KIB
    assert backend.leftovers() == []


# --- file names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"../../etc/passwd", "passwd.txt"),
        (b"C:\\Users\\awa\\notes.txt", "notes.txt"),
        (b"not\x00es\x01.txt", "not es .txt"),
        (b"", "document.txt"),
        (b"..", "document.txt"),
        (b"  .cache  ", "cache.txt"),
        ("facture\u202etxt.exe".encode(), "facturetxt.exe.txt"),
        (b"r\xe9sum\xe9.txt", "r\ufffdsum\ufffd.txt"),
        (b"a" * 300 + b".txt", "a" * 116 + ".txt"),
    ],
    ids=[
        "traversal",
        "windows-path",
        "controls",
        "empty",
        "dots",
        "hidden",
        "bidi",
        "latin-1",
        "long",
    ],
)
async def test_file_names_are_display_only(backend: Backend, raw: bytes, shown: str) -> None:
    response = await upload(backend, multipart(file("f", raw, TEXT)))
    assert response.status_code == 200, response.text
    (received,) = response.json()["files"]
    assert received["filename"] == shown
    assert re.fullmatch(rf"{KEY_PREFIX}/[A-Za-z0-9_-]{{22}}", received["key"])


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("rapport\nfinal\r\n.pdf", "rapport final .pdf"),
        ("line\u2028break\tand\ttabs.pdf", "line break and tabs.pdf"),
        ("  spaced   out  .pdf  ", "spaced out .pdf"),
        ("/", ""),
        ("dir/", ""),
        ("x" * 200, "x" * 120),
        ("y" * 200 + ".averyveryverylongextension", "y" * 120),
    ],
)
def test_sanitize_filename(raw: str, shown: str) -> None:
    assert sanitize_filename(raw) == shown


# --- limits, each leaving nothing behind ------------------------------------------------------


async def test_too_many_files(backend: Backend) -> None:
    body = multipart(
        file("a", "1.pdf", pdf_bytes()), file("b", "2.txt", TEXT), file("c", "3.png", png_bytes())
    )
    response = await upload(backend, body, UploadLimits(max_files=2))
    assert response.status_code == 400
    got = refusal(response)
    assert (got["limit"], got["field"], got["filename"]) == ("files", "c", "3.png")
    assert got["fr"] == "« 3.png » : 2 fichier(s) au plus par envoi"
    assert backend.leftovers() == []


async def test_a_refusal_keeps_the_fields_read_before_it(backend: Backend) -> None:
    body = multipart(
        field("organisation", "Association Tefy"),
        field("notes", "à relire"),
        file("doc", "x.exe", b"MZ\x90\x00binary"),
        field("after", "never read"),
    )
    got = refusal(await upload(backend, body))
    assert got["limit"] == "type"
    assert got["fields"] == {"organisation": "Association Tefy", "notes": "à relire"}
    assert backend.leftovers() == []


async def test_a_file_over_the_limit_is_cut_off_not_stored(backend: Backend) -> None:
    limit = 256 * KIB
    body = CountingBody([*large_file_part("doc", "gros.pdf", b"%PDF-1.7\n", 8 * MIB), closing()])
    response = await upload(backend, body, UploadLimits(max_file_bytes=limit))
    assert response.status_code == 413
    got = refusal(response)
    assert (got["limit"], got["filename"]) == ("file_size", "gros.pdf")
    assert got["fr"] == "« gros.pdf » : fichier trop volumineux (256 Ko au plus)"
    assert got["en"] == '"gros.pdf": file too large (at most 256 KB)'
    # the body was read no further than the limit and one feed: 8 MiB were never asked for
    assert body.produced <= limit + FEED_SLACK
    if isinstance(backend.storage, MemoryStorage):
        assert backend.storage.bytes_received <= limit
    assert backend.leftovers() == []


async def test_a_declared_length_over_the_total_is_refused_before_reading(
    backend: Backend,
) -> None:
    body = CountingBody([multipart(file("f", "a.pdf", pdf_bytes()))])
    response = await post(
        make_app(backend.storage, UploadLimits(max_total_bytes=MIB)),
        body,
        headers={"content-length": str(MIB + 1)},
    )
    assert response.status_code == 413
    assert refusal(response)["limit"] == "total"
    assert body.produced == 0
    assert backend.leftovers() == []


async def test_a_body_over_the_total_is_cut_off_while_reading(backend: Backend) -> None:
    limits = UploadLimits(max_file_bytes=256 * KIB, max_total_bytes=300 * KIB)
    body = CountingBody(
        [
            *large_file_part("a", "1.pdf", b"%PDF-1.7\n", 200 * KIB),
            *large_file_part("b", "2.pdf", b"%PDF-1.7\n", 200 * KIB),
            closing(),
        ]
    )  # sent chunked: no Content-Length to refuse up front
    response = await upload(backend, body, limits)
    assert response.status_code == 413
    got = refusal(response)
    assert got["limit"] == "total"
    assert got["en"] == "the upload exceeds 300 KB in total; send fewer or smaller files"
    assert body.produced <= 300 * KIB + 16 * KIB
    if isinstance(backend.storage, MemoryStorage):
        assert backend.storage.bytes_received >= 200 * KIB  # the first file was stored...
    assert backend.leftovers() == []  # ...and deleted


async def test_too_many_fields(backend: Backend) -> None:
    body = multipart(file("f", "a.pdf", pdf_bytes()), *(field(f"q{i}", "oui") for i in range(4)))
    response = await upload(backend, body, UploadLimits(max_fields=3))
    assert response.status_code == 400
    got = refusal(response)
    assert got["limit"] == "fields"
    assert got["en"] == "too many form fields (at most 3)"
    assert backend.leftovers() == []


async def test_empty_file_inputs_count_as_fields(backend: Backend) -> None:
    body = multipart(field("a", "1"), file("b", "", b""), field("c", "3"))
    response = await upload(backend, body, UploadLimits(max_fields=2))
    assert refusal(response)["limit"] == "fields"


async def test_a_field_too_long(backend: Backend) -> None:
    body = multipart(file("f", "a.pdf", pdf_bytes()), field("message", "x" * 17))
    response = await upload(backend, body, UploadLimits(max_field_bytes=16))
    assert response.status_code == 413
    got = refusal(response)
    assert (got["limit"], got["field"]) == ("field_size", "message")
    assert got["fr"] == "champ « message » trop long (16 octets au plus)"
    assert backend.leftovers() == []


async def test_invalid_utf8_in_a_field(backend: Backend) -> None:
    body = multipart(file("f", "a.pdf", pdf_bytes()), field("message", b"caf\xe9"))
    response = await upload(backend, body)
    assert response.status_code == 400
    got = refusal(response)
    assert (got["limit"], got["field"]) == ("encoding", "message")
    assert backend.leftovers() == []


async def test_a_field_sent_twice(backend: Backend) -> None:
    body = multipart(
        file("f", "a.pdf", pdf_bytes()), field("email", "a@x.org"), field("email", "b")
    )
    response = await upload(backend, body)
    assert refusal(response)["limit"] == "duplicate"
    assert backend.leftovers() == []


# --- bodies that are not (good) multipart --------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
)
async def test_a_body_that_is_not_multipart(backend: Backend, content_type: str) -> None:
    response = await post(make_app(backend.storage), b'{"file": "x"}', content_type=content_type)
    assert response.status_code == 415
    got = refusal(response)
    assert got["limit"] == "content_type"
    assert "multipart/form-data" in got["fr"]
    assert backend.leftovers() == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (multipart(file("f", "a.pdf", pdf_bytes()), is_closed=False), MULTIPART),
        (
            multipart(file("f", "a.pdf", pdf_bytes()), is_closed=False)
            + delimiter()
            + b"this is no header\r\n\r\nvalue\r\n"
            + closing(),
            MULTIPART,
        ),
        (
            multipart(file("f", "a.pdf", pdf_bytes()), is_closed=False)
            + delimiter()
            + b"Content-Type: text/plain\r\n\r\nno disposition\r\n"
            + closing(),
            MULTIPART,
        ),
        (multipart(file("f", "a.pdf", pdf_bytes())), "multipart/form-data"),
        (b"nothing like a multipart body", MULTIPART),
    ],
    ids=["unclosed", "bad-header", "no-disposition", "no-boundary", "garbage"],
)
async def test_malformed_multipart(backend: Backend, body: bytes, content_type: str) -> None:
    response = await post(make_app(backend.storage), body, content_type=content_type)
    assert response.status_code == 400
    got = refusal(response)
    assert got["limit"] == "multipart"
    assert got["fr"].startswith("le formulaire est arrivé incomplet ou mal formé")
    assert backend.leftovers() == []


async def test_a_content_length_that_is_not_a_number(backend: Backend) -> None:
    response = await post(
        make_app(backend.storage), multipart(), headers={"content-length": "12abc"}
    )
    assert refusal(response)["limit"] == "multipart"


# --- errors that are not refusals ------------------------------------------------------------


def asgi_request(messages: list[Message]) -> Request:
    """A request whose body arrives as ``messages``, as a server would hand it over."""
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0)

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/upload",
        "headers": [(b"content-type", MULTIPART.encode())],
    }
    return Request(scope, receive)


async def test_a_client_that_disconnects_leaves_nothing(backend: Backend) -> None:
    body = multipart(file("a", "1.pdf", pdf_bytes()), file("b", "2.txt", TEXT * 100))
    cut = len(body) - 2000  # the first file complete and stored, the second half sent
    request = asgi_request(
        [
            {"type": "http.request", "body": body[:cut], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    with pytest.raises(ClientDisconnect):
        await receive_upload(request, backend.storage, UploadLimits(), key_prefix=KEY_PREFIX)
    assert backend.leftovers() == []


async def test_a_storage_failure_deletes_what_was_stored() -> None:
    storage = MemoryStorage(capacity_bytes=10 * KIB)
    body = multipart(file("a", "1.pdf", pdf_bytes()), file("b", "2.txt", TEXT * 1000))
    request = asgi_request([{"type": "http.request", "body": body, "more_body": False}])
    with pytest.raises(OSError, match="full"):
        await receive_upload(request, storage, UploadLimits(), key_prefix=KEY_PREFIX)
    assert storage.objects == {}
    assert storage.bytes_received > len(pdf_bytes())  # the first file had been stored


async def test_a_key_prefix_that_is_not_a_key_is_refused() -> None:
    request = asgi_request([{"type": "http.request", "body": multipart(), "more_body": False}])
    with pytest.raises(ValueError, match="key_prefix"):
        await receive_upload(request, MemoryStorage(), UploadLimits(), key_prefix="../up")


def test_limits_default_total_leaves_room_for_fields() -> None:
    assert UploadLimits().total_bytes == 10 * 10 * MIB + MIB
    assert UploadLimits(max_files=2, max_file_bytes=MIB).total_bytes == 3 * MIB
    assert UploadLimits(max_total_bytes=5).total_bytes == 5


def test_limits_refuse_types_they_cannot_check() -> None:
    with pytest.raises(ValueError, match="image/gif"):
        UploadLimits(allowed_media_types=frozenset({PDF, "image/gif"}))
    with pytest.raises(ValueError, match="max_files"):
        UploadLimits(max_files=0)


def test_refusals_carry_their_status_code() -> None:
    assert UploadRefused("total", "fr", "en").status_code == 413
    assert UploadRefused("content_type", "fr", "en").status_code == 415
    assert UploadRefused("type", "fr", "en").status_code == 400
    assert str(UploadRefused("type", "français", "english")) == "français / english"


# --- over a real socket ------------------------------------------------------------------------


class CountingReceive:
    """ASGI middleware counting the body bytes the server handed to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.body_bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.body_bytes += len(message.get("body", b""))
            return message

        await self.app(scope, counting, send)


#: Small socket buffers keep the bytes in flight, outside either program, well under 1 MiB.
SOCKET_BUFFER_BYTES: Final = 128 * KIB


def send_streaming(port: int, head: bytes, chunks: Iterable[bytes]) -> tuple[bytes, int]:
    """POST from a blocking socket, stopping once an answer arrives or the server hangs up.

    Returns the answer and how many body bytes the client managed to send.
    """
    answer = bytearray()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)

        def read() -> None:
            while True:
                try:
                    data = sock.recv(64 * KIB)
                except OSError:
                    return
                if not data:
                    return
                answer.extend(data)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            sock.sendall(head)
            for chunk in chunks:
                if answer:
                    break
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server hung up: that is the point
        reader.join(timeout=20)
    return bytes(answer), sent


async def test_a_real_server_stops_reading_an_oversized_file(backend: Backend) -> None:
    limit = MIB
    body_bytes = 32 * MIB
    limits = UploadLimits(max_file_bytes=limit, max_total_bytes=2 * body_bytes)
    app = CountingReceive(make_app(backend.storage, limits))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        for _ in range(500):  # up to 5 s for start-up
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started
        parts = list(large_file_part("doc", "gros.pdf", b"%PDF-1.7\n", body_bytes))
        head = (
            f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {MULTIPART}\r\n"
            f"Content-Length: {sum(map(len, parts)) + len(closing())}\r\n\r\n"
        ).encode()
        answer, sent = await asyncio.to_thread(send_streaming, port, head, [*parts, closing()])
    finally:
        server.should_exit = True
        await serving
        listener.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"limit":"file_size"' in answer
    # the app read the limit and little more; the client could not even send half
    assert app.body_bytes <= limit + 8 * FEED_SLACK
    assert sent < body_bytes // 2
    if isinstance(backend.storage, MemoryStorage):
        assert backend.storage.bytes_received <= limit
    assert backend.leftovers() == []


def declare_uncompressed(content: bytes, name: str, size: int) -> bytes:
    """``content`` (a ZIP file) with the central directory claiming ``size`` for ``name``."""
    at = content.find(b"PK\x01\x02")
    while at >= 0:
        (name_len,) = struct.unpack_from("<H", content, at + 28)
        if content[at + 46 : at + 46 + name_len] == name.encode():
            return content[: at + 24] + struct.pack("<I", size) + content[at + 28 :]
        at = content.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} is not in the archive")


async def test_a_docx_bomb_declaring_a_huge_size_is_refused(backend: Backend) -> None:
    bomb = declare_uncompressed(docx_bytes(), "word/document.xml", 0xFFFF0000)
    assert len(bomb) < 2048
    response = await upload(backend, multipart(file("f", "bombe.docx", bomb)))
    refused = refusal(response)
    assert refused["limit"] == "archive"
    assert "« bombe.docx » : son contenu décompressé serait trop volumineux" in refused["fr"]
    assert "save the document again or send it as PDF" in refused["en"]
    assert backend.leftovers() == []


async def test_a_docx_that_inflates_past_the_ratio_is_refused(backend: Backend) -> None:
    zeros = docx_bytes({"word/media/zeros.bin": bytes(20 * MIB)})
    assert len(zeros) < 100_000  # 20 MiB of zeros deflate to almost nothing
    response = await upload(backend, multipart(file("f", "zeros.docx", zeros)))
    assert refusal(response)["limit"] == "archive"
    relaxed = UploadLimits(max_zip_ratio=100_000)
    accepted = await upload(backend, multipart(file("f", "zeros.docx", zeros)), relaxed)
    assert accepted.status_code == 200, accepted.text


async def test_the_intake_reads_any_byte_stream_without_a_request(backend: Backend) -> None:
    # receive_stream takes the two headers and the body: no Starlette request involved
    body = (
        b'--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nSalut\r\n'
        b'--b\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nBonjour\r\n--b--\r\n"
    )

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    upload = await receive_stream(
        "multipart/form-data; boundary=b",
        str(len(body)),
        chunks(),
        backend.storage,
        UploadLimits(),
        key_prefix=KEY_PREFIX,
    )
    assert upload.fields == {"note": "Salut"}
    assert [(f.filename, f.media_type, f.size_bytes) for f in upload.files] == [("a.txt", TXT, 7)]
    assert await backend.read(upload.files[0].key) == b"Bonjour"
