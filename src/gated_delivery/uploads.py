"""Streamed multipart/form-data intake: files go to storage as they arrive, limits bite early.

``receive_upload`` reads a Starlette request body chunk by chunk, parses it with
python-multipart's streaming parser and hands each file to ``StorageBackend.save`` through a
small bounded queue, so that a file is never held whole in memory and a slow backend slows the
reading of the request down instead of filling memory.

Every limit is enforced while reading: a body declared too large is refused before a byte is
read, and a file or a body that grows past its limit is cut off at once. File types are told
by their content (magic bytes; for ZIP containers, the entries named in the central
directory), never by the name or the type the browser sent. Any refusal or error, a client
that disconnects included, deletes every file this call stored before it raises: nothing
partial is ever left in storage.

This module runs on asyncio (the bridge to storage is an ``asyncio.Queue`` and a task).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import re
import struct
import unicodedata
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final, Literal

import anyio
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from gated_delivery.config import CoreSettings
from gated_delivery.errors import InvalidInput
from gated_delivery.hookspecs import StorageBackend, StoredObject
from gated_delivery.ids import new_public_id

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

__all__ = [
    "DOCX",
    "JPEG",
    "PDF",
    "PNG",
    "TXT",
    "XLSX",
    "ReceivedFile",
    "Upload",
    "UploadLimits",
    "UploadRefused",
    "receive_upload",
]

log = logging.getLogger(__name__)

PDF: Final = "application/pdf"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG: Final = "image/png"
JPEG: Final = "image/jpeg"
#: Always UTF-8: anything else is refused.
TXT: Final = "text/plain"

MIB: Final = 1024 * 1024
#: The longest display name kept, in characters (``Asset.filename`` holds 255).
MAX_FILENAME_CHARS: Final = 120
#: A display name with nothing left after sanitising.
DEFAULT_FILENAME: Final = "document"

#: The parser is fed at most this much at a time, so that one large chunk from the server
#: cannot carry a file far past its limit before the limit is checked.
_FEED_BYTES: Final = 64 * 1024
#: Storage gets chunks of about this size: each chunk may cost a backend a system call or a
#: thread hop (the local one does both), so 64 KiB pieces would make it the bottleneck.
_STORE_CHUNK_BYTES: Final = 256 * 1024
#: Chunks waiting for the storage backend: with ``_STORE_CHUNK_BYTES`` (and a ZIP file's
#: tail) this bounds what a slow backend can make us hold to about 3 MiB per upload.
_PIPE_DEPTH: Final = 4
#: Enough to tell every signature below apart.
_SNIFF_BYTES: Final = 8
#: How much of a ZIP container's end is kept to read its central directory: a DOCX or XLSX
#: needs a few KiB; beyond this (tens of thousands of entries) it is refused.
_ZIP_TAIL_BYTES: Final = MIB
#: A ZIP file ends with a 22-byte record and a comment of at most 65535 bytes.
_ZIP_EOCD_SEARCH: Final = 22 + 65535


@dataclass(frozen=True)
class _Kind:
    media_type: str
    label: str
    extensions: tuple[str, ...]


_KINDS: Final[Mapping[str, _Kind]] = {
    k.media_type: k
    for k in (
        _Kind(PDF, "PDF", (".pdf",)),
        _Kind(DOCX, "DOCX", (".docx",)),
        _Kind(XLSX, "XLSX", (".xlsx",)),
        _Kind(PNG, "PNG", (".png",)),
        _Kind(JPEG, "JPEG", (".jpg", ".jpeg")),
        _Kind(TXT, "TXT", (".txt",)),
    )
}
#: Extensions replaced (rather than kept) when they disagree with the content.
_KNOWN_EXTENSIONS: Final = frozenset(e for k in _KINDS.values() for e in k.extensions)
_MAGIC: Final = ((b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG))
_ZIP_MAGIC: Final = b"PK\x03\x04"
_KEY_PREFIX: Final = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


@dataclass(frozen=True)
class UploadLimits:
    """What one request may carry; every limit is checked while the body is read.

    ``max_total_bytes`` is the whole body, multipart framing included; None means
    ``max_files * max_file_bytes`` plus 1 MiB for the text fields (see ``total_bytes``).
    An empty file input (no file chosen) counts as a field, not as a file.
    """

    max_files: int = 10
    max_file_bytes: int = 10 * MIB
    max_total_bytes: int | None = None
    max_fields: int = 200
    max_field_bytes: int = 64 * 1024
    allowed_media_types: frozenset[str] = frozenset(_KINDS)
    #: A DOCX or XLSX (a ZIP file) whose entries declare more than this, uncompressed, or
    #: more than ``max_zip_ratio`` times the file's own size, is refused (a "zip bomb").
    max_unzipped_bytes: int = 200 * MIB
    max_zip_ratio: int = 100

    def __post_init__(self) -> None:
        numbers = {
            "max_files": self.max_files,
            "max_file_bytes": self.max_file_bytes,
            "max_total_bytes": self.total_bytes,
            "max_fields": self.max_fields,
            "max_field_bytes": self.max_field_bytes,
            "max_unzipped_bytes": self.max_unzipped_bytes,
            "max_zip_ratio": self.max_zip_ratio,
        }
        for name, value in numbers.items():
            if value < 1:
                raise ValueError(f"UploadLimits.{name} must be at least 1, not {value}")
        unknown = self.allowed_media_types - _KINDS.keys()
        if unknown:
            known = ", ".join(sorted(_KINDS))
            raise ValueError(
                f"UploadLimits cannot check {', '.join(sorted(unknown))}; it knows {known}"
            )

    @property
    def total_bytes(self) -> int:
        """The body size limit in force: ``max_total_bytes`` or its default."""
        if self.max_total_bytes is not None:
            return self.max_total_bytes
        return self.max_files * self.max_file_bytes + MIB

    @property
    def allowed_labels(self) -> str:
        """The allowed types as people know them, in a fixed order: ``PDF, PNG, TXT``."""
        return ", ".join(
            k.label for k in _KINDS.values() if k.media_type in self.allowed_media_types
        )


@dataclass(frozen=True)
class ReceivedFile:
    """One stored file: where it is, what it is, and the name to show (never a path)."""

    field: str
    filename: str
    media_type: str
    key: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Upload:
    """A received form: its text fields (UTF-8) and its stored files, in the order sent."""

    fields: dict[str, str]
    files: list[ReceivedFile]


#: Which limit or rule refused an upload (``UploadRefused.limit``).
LimitName = Literal[
    "content_type",
    "multipart",
    "total",
    "files",
    "file_size",
    "type",
    "fields",
    "field_size",
    "encoding",
    "duplicate",
    "archive",
]
_STATUS: Final[Mapping[str, int]] = {
    "content_type": 415,
    "total": 413,
    "file_size": 413,
    "field_size": 413,
}


class UploadRefused(InvalidInput):
    """An upload broke a limit or a rule; nothing it sent was kept.

    ``limit`` names the rule, ``field`` the form input and ``filename`` the (sanitised) file
    name when there is one. ``message_fr`` and ``message_en`` say which file and which limit;
    ``str()`` gives both. ``status_code`` is the HTTP answer the caller should give: 413 for a
    size limit, 415 for a body that is not multipart/form-data, 400 for the rest.
    ``fields`` holds the text fields read before the refusal, so that a form can be shown
    again with what the person typed (put the file inputs last: browsers send in form order).
    """

    def __init__(
        self,
        limit: LimitName,
        message_fr: str,
        message_en: str,
        *,
        field: str | None = None,
        filename: str | None = None,
    ) -> None:
        super().__init__(f"{message_fr} / {message_en}", field=field)
        self.limit: LimitName = limit
        self.filename = filename
        self.message_fr = message_fr
        self.message_en = message_en
        self.status_code = _STATUS.get(limit, 400)
        self.fields: dict[str, str] = {}


def _size_fr(n_bytes: int) -> str:
    return _size(n_bytes, ("octets", "Ko", "Mo")).replace(".", ",")


def _size_en(n_bytes: int) -> str:
    return _size(n_bytes, ("bytes", "KB", "MB"))


def _size(n_bytes: int, units: tuple[str, str, str]) -> str:
    if n_bytes >= MIB:
        return f"{n_bytes / MIB:.4g} {units[2]}"
    if n_bytes >= 1024:
        return f"{n_bytes / 1024:.4g} {units[1]}"
    return f"{n_bytes} {units[0]}"


def _malformed(detail_en: str) -> UploadRefused:
    # the parser's own words are English and technical: keep them for the English half only
    return UploadRefused(
        "multipart",
        "le formulaire est arrivé incomplet ou mal formé ; renvoyez-le depuis la page",
        f"the form arrived incomplete or malformed ({detail_en}); send it again from the page",
    )


def _too_large_total(limits: UploadLimits) -> UploadRefused:
    return UploadRefused(
        "total",
        f"l'envoi dépasse {_size_fr(limits.total_bytes)} au total ; "
        "envoyez moins de fichiers ou des fichiers plus petits",
        f"the upload exceeds {_size_en(limits.total_bytes)} in total; send fewer or smaller files",
    )


def sanitize_filename(raw: str) -> str:
    """A file name fit for display only: no path, no control characters, trimmed, bounded.

    Keeps the last path part (``/`` or ``\\``), turns control characters and line breaks into
    spaces, drops invisible format characters (bidirectional overrides can disguise
    ``fdp.exe`` as ``exe.pdf``), collapses spaces and strips dots and spaces at both ends.
    Long names are cut, keeping a short extension. Never build a path from the result.
    """
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    kept: list[str] = []
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif not category.startswith("C"):
            kept.append(char)
    name = " ".join("".join(kept).split()).strip(" .")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 10:
            stem = stem[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip(" .")
            name = f"{stem}.{extension}"
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip(" .")
    return name


def _display_name(sanitized: str, kind: _Kind) -> str:
    """The sanitised name with the extension its content calls for.

    A known extension that disagrees (``budget.docx`` holding a spreadsheet) is replaced;
    an unknown one is kept and the right one added (``rapport.exe`` -> ``rapport.exe.pdf``).
    """
    name = sanitized or DEFAULT_FILENAME
    stem, dot, extension = name.rpartition(".")
    suffix = f".{extension.lower()}" if dot and stem else ""
    if suffix in kind.extensions:
        return name
    if suffix in _KNOWN_EXTENSIONS:
        name = stem
    return f"{name[: MAX_FILENAME_CHARS - len(kind.extensions[0])]}{kind.extensions[0]}"


def with_archive_settings(limits: UploadLimits, settings: CoreSettings) -> UploadLimits:
    """``limits`` with ``GD_ARCHIVE_MAX_UNCOMPRESSED_MB`` and ``GD_ARCHIVE_MAX_RATIO``."""
    return replace(
        limits,
        max_unzipped_bytes=settings.archive_max_uncompressed_mb * MIB,
        max_zip_ratio=settings.archive_max_ratio,
    )


def _zip_entries(tail: bytes, file_size: int) -> list[tuple[str, int]] | None:
    """Each entry's name and declared uncompressed size, from a ZIP file's central directory.

    None when the directory is missing, inconsistent, ZIP64, or not within ``tail``.
    """
    eocd = tail.rfind(b"PK\x05\x06", max(0, len(tail) - _ZIP_EOCD_SEARCH))
    if eocd < 0:
        return None
    try:
        *_, entries, cd_size, cd_offset, _comment = struct.unpack_from("<IHHHHIIH", tail, eocd)
        cd_at = cd_offset - (file_size - len(tail))
        if cd_at < 0 or cd_at + cd_size > eocd:
            return None  # ZIP64 (offsets of 0xFFFFFFFF) ends up here too
        found: list[tuple[str, int]] = []
        at = cd_at
        for _ in range(entries):
            if tail[at : at + 4] != b"PK\x01\x02":
                return None
            (flags,) = struct.unpack_from("<H", tail, at + 8)
            (unzipped,) = struct.unpack_from("<I", tail, at + 24)
            name_len, extra_len, comment_len = struct.unpack_from("<HHH", tail, at + 28)
            raw = tail[at + 46 : at + 46 + name_len]
            name = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            found.append((name, unzipped))
            at += 46 + name_len + extra_len + comment_len
    except struct.error:
        return None
    return found


def _office_kind(names: list[str]) -> str | None:
    """DOCX or XLSX from their package layout, or None for any other ZIP file."""
    if "[Content_Types].xml" not in names:
        return None
    is_word = any(n.startswith("word/") for n in names)
    is_excel = any(n.startswith("xl/") for n in names)
    if is_word and not is_excel:
        return DOCX
    if is_excel and not is_word:
        return XLSX
    return None


class _Aborted(Exception):
    """Raised from the chunks a backend's ``save`` is reading, so that it drops the file."""


#: Marks the end of a file in the pipe: real chunks are never empty.
_END: Final = b""


class _Pipe:
    """Carries one file's chunks to ``storage.save`` running as a task, at most
    ``_PIPE_DEPTH`` at a time, so that a slow backend slows the reading of the request."""

    def __init__(self, storage: StorageBackend, key: str) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(_PIPE_DEPTH)
        self._is_aborted = False
        self.task: asyncio.Task[StoredObject] = asyncio.create_task(
            storage.save(key, self._chunks())
        )

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self._queue.get()
            if self._is_aborted:
                raise _Aborted("upload refused; discard this file")
            if not chunk:
                return
            yield chunk

    async def send(self, chunk: bytes) -> None:
        """Queue a chunk; wait while the queue is full; raise if the backend gave up."""
        if self.task.done():
            self._raise_early_end()
        if not self._queue.full():
            self._queue.put_nowait(chunk)
            return
        put = asyncio.ensure_future(self._queue.put(chunk))
        try:
            await asyncio.wait({put, self.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not put.done():
                put.cancel()
        if put.cancelled():
            self._raise_early_end()

    async def finish(self) -> StoredObject:
        """Mark the end and wait for the backend to commit the file."""
        await self.send(_END)
        return await self.task

    async def abort(self) -> None:
        """Make the backend drop the file and wait until it has."""
        self._is_aborted = True
        while not self._queue.empty():  # nothing queued matters now; make room to wake it
            self._queue.get_nowait()
        self._queue.put_nowait(_END)
        await asyncio.wait({self.task})  # never raises: its outcome no longer matters
        if not self.task.cancelled():
            self.task.exception()  # fetched, so that asyncio does not log it as lost

    def _raise_early_end(self) -> None:
        if self.task.cancelled():
            raise RuntimeError("the storage backend's save was cancelled")
        error = self.task.exception()
        if error is not None:
            raise error
        raise RuntimeError("the storage backend returned before reading the whole file")


class _IncomingFile:
    """One file part on its way to storage: size limit, type check, then the pipe."""

    def __init__(self, intake: _Intake, field_name: str, filename: str, key: str) -> None:
        self._intake = intake
        self.field = field_name
        self.filename = filename  # sanitised, as the buyer knows it; for messages
        self.key = key
        self._size = 0
        self._head = bytearray()
        self._media_type: str | None = None  # ZIP until its directory is read
        self._is_zip = False
        self._text: codecs.IncrementalDecoder | None = None
        self._zip_tail: deque[bytes] = deque()
        self._zip_tail_bytes = 0
        self._pending = bytearray()  # not yet handed to storage; see _STORE_CHUNK_BYTES
        self.pipe: _Pipe | None = None

    async def write(self, data: bytes) -> None:
        limits = self._intake.limits
        self._size += len(data)
        if self._size > limits.max_file_bytes:
            raise UploadRefused(
                "file_size",
                f"« {self.filename} » : fichier trop volumineux "
                f"({_size_fr(limits.max_file_bytes)} au plus)",
                f'"{self.filename}": file too large (at most {_size_en(limits.max_file_bytes)})',
                field=self.field,
                filename=self.filename,
            )
        if self.pipe is None:
            self._head += data
            if len(self._head) >= _SNIFF_BYTES:
                await self._start()
            return
        self._inspect(data)
        await self._store(data)

    async def finish(self) -> ReceivedFile | None:
        """Commit the file; None for an empty file input, which is skipped."""
        if self.pipe is None:
            if not self._head:
                return None
            await self._start()
        assert self.pipe is not None
        if self._text is not None:
            try:
                self._text.decode(b"", final=True)  # a sequence cut at the very end
            except UnicodeDecodeError:
                raise self._wrong_type() from None
        if self._is_zip:
            entries = _zip_entries(b"".join(self._zip_tail), self._size)
            names = [name for name, _ in entries] if entries is not None else None
            self._media_type = _office_kind(names) if names is not None else None
            if self._media_type not in self._intake.limits.allowed_media_types:
                raise self._wrong_type()
            self._check_inflation(sum(size for _, size in entries or ()))
        assert self._media_type is not None
        if self._pending:
            await self.pipe.send(bytes(self._pending))
            self._pending.clear()
        stored = await self.pipe.finish()
        if stored.size_bytes != self._size:
            raise RuntimeError(
                f"storage backend {self._intake.storage.name!r} stored {stored.size_bytes} "
                f"bytes of {self._size}"
            )
        return ReceivedFile(
            field=self.field,
            filename=_display_name(self.filename, _KINDS[self._media_type]),
            media_type=self._media_type,
            key=stored.key,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
        )

    async def discard(self) -> None:
        """Drop whatever was written of this file, finished or not."""
        if self.pipe is None:
            return
        await self.pipe.abort()
        await self._intake.storage.delete(self.key)

    async def _start(self) -> None:
        """Tell the type from the first bytes, refuse it or open the pipe to storage."""
        self._intake.count_file(self)
        head = bytes(self._head)
        self._head = bytearray()
        allowed = self._intake.limits.allowed_media_types
        for signature, media_type in _MAGIC:
            if head.startswith(signature):
                self._media_type = media_type
                break
        else:
            if head.startswith(_ZIP_MAGIC):
                self._is_zip = True  # DOCX, XLSX or another ZIP: its directory will say
            else:
                self._media_type = TXT  # anything else must be valid UTF-8 text
                self._text = codecs.getincrementaldecoder("utf-8")("strict")
        if self._media_type is not None and self._media_type not in allowed:
            raise self._wrong_type()
        if self._is_zip and not allowed & {DOCX, XLSX}:
            raise self._wrong_type()
        self._inspect(head)
        self.pipe = _Pipe(self._intake.storage, self.key)
        await self._store(head)

    async def _store(self, data: bytes) -> None:
        assert self.pipe is not None
        self._pending += data
        if len(self._pending) >= _STORE_CHUNK_BYTES:
            await self.pipe.send(bytes(self._pending))
            self._pending.clear()

    def _inspect(self, data: bytes) -> None:
        if self._text is not None:
            try:
                self._text.decode(data)
            except UnicodeDecodeError:
                raise self._wrong_type() from None
            if b"\x00" in data:
                raise self._wrong_type()
        elif self._is_zip:
            self._zip_tail.append(data)
            self._zip_tail_bytes += len(data)
            while self._zip_tail_bytes - len(self._zip_tail[0]) >= _ZIP_TAIL_BYTES:
                self._zip_tail_bytes -= len(self._zip_tail.popleft())

    def _check_inflation(self, unzipped: int) -> None:
        limits = self._intake.limits
        ceiling = min(limits.max_unzipped_bytes, limits.max_zip_ratio * max(self._size, 1))
        if unzipped > ceiling:
            raise UploadRefused(
                "archive",
                f"« {self.filename} » : son contenu décompressé serait trop volumineux "
                f"({_size_fr(unzipped)} pour un fichier de {_size_fr(self._size)}) ; "
                "enregistrez le document à nouveau ou envoyez-le en PDF",
                f'"{self.filename}": its content would inflate to {_size_en(unzipped)} '
                f"from {_size_en(self._size)}; save the document again or send it as PDF",
                field=self.field,
                filename=self.filename,
            )

    def _wrong_type(self) -> UploadRefused:
        labels = self._intake.limits.allowed_labels
        return UploadRefused(
            "type",
            f"« {self.filename} » : type de fichier non accepté ({labels})",
            f'"{self.filename}": file type not accepted ({labels})',
            field=self.field,
            filename=self.filename,
        )


@dataclass
class _Part:
    """The part being parsed: its headers, then either a text field or a file."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    name: str = ""
    text: bytearray | None = None
    file: _IncomingFile | None = None


class _Intake:
    """The state of one ``receive_upload`` call, driven by the parser's events."""

    def __init__(self, storage: StorageBackend, limits: UploadLimits, key_prefix: str) -> None:
        self.storage = storage
        self.limits = limits
        self._key_prefix = key_prefix
        # the parser calls back synchronously; the events wait here for ``handle``
        self._events: list[tuple[str, bytes]] = []
        self._part = _Part()
        self._field_count = 0
        self._file_count = 0
        self.fields: dict[str, str] = {}
        self.files: list[ReceivedFile] = []
        self.is_complete = False

    def callbacks(self) -> MultipartCallbacks:
        events = self._events

        def event(name: str) -> None:
            events.append((name, b""))

        def data(name: str, buffer: bytes, start: int, end: int) -> None:
            events.append((name, buffer[start:end]))

        return {
            "on_part_begin": lambda: event("part_begin"),
            "on_header_field": lambda b, s, e: data("header_name", b, s, e),
            "on_header_value": lambda b, s, e: data("header_value", b, s, e),
            "on_header_end": lambda: event("header_end"),
            "on_headers_finished": lambda: event("headers_finished"),
            "on_part_data": lambda b, s, e: data("part_data", b, s, e),
            "on_part_end": lambda: event("part_end"),
            "on_end": lambda: event("end"),
        }

    async def handle(self) -> None:
        """Act on the events the last ``parser.write`` produced, in order."""
        events = self._events[:]
        self._events.clear()
        part = self._part
        for name, data in events:
            if name == "part_data":
                await self._part_data(part, data)
            elif name == "header_name":
                part.header_name += data
            elif name == "header_value":
                part.header_value += data
            elif name == "header_end":
                part.headers.append((bytes(part.header_name).lower(), bytes(part.header_value)))
                part.header_name.clear()
                part.header_value.clear()
            elif name == "headers_finished":
                self._open_part(part)
            elif name == "part_end":
                await self._close_part(part)
            elif name == "part_begin":
                part = self._part = _Part()
            elif name == "end":
                self.is_complete = True

    def count_file(self, incoming: _IncomingFile) -> None:
        """Count a file once its first byte shows it is not an empty input."""
        self._file_count += 1
        if self._file_count > self.limits.max_files:
            raise UploadRefused(
                "files",
                f"« {incoming.filename} » : {self.limits.max_files} fichier(s) au plus par envoi",
                f'"{incoming.filename}": at most {self.limits.max_files} file(s) per upload',
                field=incoming.field,
                filename=incoming.filename,
            )

    def _count_field(self) -> None:
        self._field_count += 1
        if self._field_count > self.limits.max_fields:
            raise UploadRefused(
                "fields",
                f"trop de champs dans le formulaire ({self.limits.max_fields} au plus)",
                f"too many form fields (at most {self.limits.max_fields})",
            )

    def _open_part(self, part: _Part) -> None:
        disposition = next((v for k, v in part.headers if k == b"content-disposition"), None)
        kind, options = parse_options_header(disposition)
        if kind != b"form-data" or b"name" not in options:
            raise _malformed("a part without Content-Disposition: form-data; name=...")
        try:
            part.name = options[b"name"].decode("utf-8")
        except UnicodeDecodeError:
            raise UploadRefused(
                "encoding",
                "nom de champ non valide (UTF-8 attendu)",
                "invalid field name (UTF-8 expected)",
            ) from None
        raw_filename = options.get(b"filename")
        if raw_filename is None:
            self._count_field()
            part.text = bytearray()
            return
        # display only, so a badly encoded name is repaired rather than refused
        filename = sanitize_filename(raw_filename.decode("utf-8", "replace"))
        key = f"{self._key_prefix}/{new_public_id()}"
        part.file = _IncomingFile(self, part.name, filename, key)

    async def _part_data(self, part: _Part, data: bytes) -> None:
        if part.file is not None:
            await part.file.write(data)
        elif part.text is not None:
            part.text += data
            if len(part.text) > self.limits.max_field_bytes:
                limit = self.limits.max_field_bytes
                raise UploadRefused(
                    "field_size",
                    f"champ « {part.name} » trop long ({_size_fr(limit)} au plus)",
                    f'field "{part.name}" too long (at most {_size_en(limit)})',
                    field=part.name,
                )
        else:
            raise _malformed("part data before the part's headers")

    async def _close_part(self, part: _Part) -> None:
        if part.file is not None:
            received = await part.file.finish()
            part.file = None  # stored: from now on a refusal deletes it from self.files
            if received is None:
                self._count_field()
            else:
                self.files.append(received)
        elif part.text is not None:
            if part.name in self.fields:
                raise UploadRefused(
                    "duplicate",
                    f"le champ « {part.name} » est envoyé deux fois",
                    f'field "{part.name}" is sent twice',
                    field=part.name,
                )
            try:
                self.fields[part.name] = part.text.decode("utf-8")
            except UnicodeDecodeError:
                raise UploadRefused(
                    "encoding",
                    f"champ « {part.name} » : texte non valide (UTF-8 attendu)",
                    f'field "{part.name}": invalid text (UTF-8 expected)',
                    field=part.name,
                ) from None
        else:
            raise _malformed("a part ended before its headers")

    async def discard(self) -> None:
        """Delete every file this call stored or started; log, never raise, on failure."""
        if self._part.file is not None:
            try:
                await self._part.file.discard()
            except Exception:
                log.warning("could not discard upload %s", self._part.file.key, exc_info=True)
        for received in self.files:
            try:
                await self.storage.delete(received.key)
            except Exception:
                log.warning("could not delete upload %s", received.key, exc_info=True)


def _boundary(request: Request) -> bytes:
    kind, options = parse_options_header(request.headers.get("content-type"))
    if kind != b"multipart/form-data":
        shown = kind.decode("latin-1") or "none"
        raise UploadRefused(
            "content_type",
            f"le formulaire doit être envoyé en multipart/form-data (reçu : {shown})",
            f"the form must be sent as multipart/form-data (received: {shown})",
        )
    boundary = options.get(b"boundary", b"")
    if not boundary:
        raise _malformed("no boundary in Content-Type")
    return boundary


def _check_declared_length(request: Request, limits: UploadLimits) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return  # chunked: counted while reading
    if not declared.isdigit():
        raise _malformed("Content-Length is not a number")
    if int(declared) > limits.total_bytes:
        raise _too_large_total(limits)


async def receive_upload(
    request: Request, storage: StorageBackend, limits: UploadLimits, *, key_prefix: str
) -> Upload:
    """Read a multipart/form-data body as it streams, storing each file as it arrives.

    Files are saved under ``f"{key_prefix}/{new_public_id()}"``; ``key_prefix`` is one or more
    ``/``-separated segments of letters, digits, ``-`` and ``_`` (an order id, say).
    Empty file inputs are skipped. Raises ``UploadRefused`` for every broken limit or rule,
    and lets other errors (the client disconnecting, storage failing) through; in every case
    each file already stored by this call is deleted first.
    """
    if not _KEY_PREFIX.match(key_prefix):
        raise ValueError(f"key_prefix {key_prefix!r} is not a storage key prefix")
    boundary = _boundary(request)
    _check_declared_length(request, limits)
    intake = _Intake(storage, limits, key_prefix)
    try:
        try:
            parser = MultipartParser(boundary, intake.callbacks())
        except FormParserError as exc:
            raise _malformed(str(exc)) from None
        received_bytes = 0
        async with contextlib.aclosing(request.stream()) as body:
            async for chunk in body:
                received_bytes += len(chunk)
                if received_bytes > limits.total_bytes:
                    raise _too_large_total(limits)
                for start in range(0, len(chunk), _FEED_BYTES):
                    try:
                        parser.write(chunk[start : start + _FEED_BYTES])
                    except FormParserError as exc:
                        raise _malformed(str(exc)) from None
                    await intake.handle()
        if not intake.is_complete:
            raise _malformed("the body ended before the closing boundary")
        return Upload(fields=intake.fields, files=intake.files)
    except BaseException as exc:
        if isinstance(exc, UploadRefused):
            exc.fields = dict(intake.fields)
        # shielded: a cancelled request must still not leave files behind
        with anyio.CancelScope(shield=True):
            await intake.discard()
        raise


#: A final document, from the staff page or the command line: one PDF or DOCX of 50 MiB.
FINAL_LIMITS: Final = UploadLimits(
    max_files=1, max_file_bytes=50 * MIB, max_fields=5, allowed_media_types=frozenset({PDF, DOCX})
)


#: A file every buyer of a product receives: any accepted type, up to 200 MiB.
PRODUCT_FILE_LIMITS: Final = UploadLimits(max_files=1, max_file_bytes=200 * MIB, max_fields=5)


async def receive_file(
    chunks: AsyncIterator[bytes],
    storage: StorageBackend,
    limits: UploadLimits,
    *,
    filename: str,
    key_prefix: str,
) -> ReceivedFile:
    """Store one file that comes without a form (the command line) under the same checks.

    Its type is told by its content, exactly as ``receive_upload`` does, and its size and
    type limits are checked while it is read; ``filename`` only names it. Raises
    ``UploadRefused`` (nothing kept) for an empty file or a broken rule.
    """
    if not _KEY_PREFIX.match(key_prefix):
        raise ValueError(f"key_prefix {key_prefix!r} is not a storage key prefix")
    name = sanitize_filename(filename)
    incoming = _IncomingFile(
        _Intake(storage, limits, key_prefix), "file", name, f"{key_prefix}/{new_public_id()}"
    )
    try:
        async for chunk in chunks:
            for start in range(0, len(chunk), _FEED_BYTES):
                await incoming.write(chunk[start : start + _FEED_BYTES])
        received = await incoming.finish()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await incoming.discard()
        raise
    if received is None:
        raise UploadRefused("type", f"« {name} » est vide", f'"{name}" is empty', filename=name)
    return received
