"""The multipart intake: a form body read as it streams, each file piped to storage.

``receive_stream`` takes the request's Content-Type and Content-Length and its body as an
async byte iterator, so that any server (or a test) can feed it; ``receive_upload`` adapts a
Starlette request to it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import anyio
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from gated_delivery.ids import new_public_id
from gated_delivery.plugin_protocols import StorageBackend
from gated_delivery.uploads.limits import KEY_PREFIX, ReceivedFile, Upload, UploadLimits
from gated_delivery.uploads.pipe import IncomingFile
from gated_delivery.uploads.refusals import (
    UploadRefused,
    malformed,
    size_en,
    size_fr,
    too_large_total,
)
from gated_delivery.uploads.sniffing import sanitize_filename

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

log = logging.getLogger(__name__)

#: The parser is fed at most this much at a time, so that one large chunk from the server
#: cannot carry a file far past its limit before the limit is checked.
FEED_BYTES: Final = 64 * 1024


@dataclass
class Part:
    """The part being parsed: its headers, then either a text field or a file."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    name: str = ""
    text: bytearray | None = None
    file: IncomingFile | None = None


class Intake:
    """The state of one ``receive_upload`` call, driven by the parser's events."""

    def __init__(self, storage: StorageBackend, limits: UploadLimits, key_prefix: str) -> None:
        self.storage = storage
        self.limits = limits
        self._key_prefix = key_prefix
        # the parser calls back synchronously; the events wait here for ``handle``
        self._events: list[tuple[str, bytes]] = []
        self._part = Part()
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
                part = self._part = Part()
            elif name == "end":
                self.is_complete = True

    def count_file(self, incoming: IncomingFile) -> None:
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

    def _open_part(self, part: Part) -> None:
        disposition = next((v for k, v in part.headers if k == b"content-disposition"), None)
        kind, options = parse_options_header(disposition)
        if kind != b"form-data" or b"name" not in options:
            raise malformed("a part without Content-Disposition: form-data; name=...")
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
        part.file = IncomingFile(self, part.name, filename, key)

    async def _part_data(self, part: Part, data: bytes) -> None:
        if part.file is not None:
            await part.file.write(data)
        elif part.text is not None:
            part.text += data
            if len(part.text) > self.limits.max_field_bytes:
                limit = self.limits.max_field_bytes
                raise UploadRefused(
                    "field_size",
                    f"champ « {part.name} » trop long ({size_fr(limit)} au plus)",
                    f'field "{part.name}" too long (at most {size_en(limit)})',
                    field=part.name,
                )
        else:
            raise malformed("part data before the part's headers")

    async def _close_part(self, part: Part) -> None:
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
            raise malformed("a part ended before its headers")

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


def _boundary(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        shown = kind.decode("latin-1") or "none"
        raise UploadRefused(
            "content_type",
            f"le formulaire doit être envoyé en multipart/form-data (reçu : {shown})",
            f"the form must be sent as multipart/form-data (received: {shown})",
        )
    boundary = options.get(b"boundary", b"")
    if not boundary:
        raise malformed("no boundary in Content-Type")
    return boundary


def _check_declared_length(declared: str | None, limits: UploadLimits) -> None:
    if declared is None:
        return  # chunked: counted while reading
    if not declared.isdigit():
        raise malformed("Content-Length is not a number")
    if int(declared) > limits.total_bytes:
        raise too_large_total(limits)


async def receive_upload(
    request: Request, storage: StorageBackend, limits: UploadLimits, *, key_prefix: str
) -> Upload:
    """Read a Starlette request's multipart/form-data body with ``receive_stream``."""
    async with contextlib.aclosing(request.stream()) as body:
        return await receive_stream(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            body,
            storage,
            limits,
            key_prefix=key_prefix,
        )


async def receive_stream(
    content_type: str | None,
    content_length: str | None,
    body: AsyncIterator[bytes],
    storage: StorageBackend,
    limits: UploadLimits,
    *,
    key_prefix: str,
) -> Upload:
    """Read a multipart/form-data body as it streams, storing each file as it arrives.

    ``content_type`` and ``content_length`` are the request's headers (None when absent),
    ``body`` its bytes. Files are saved under ``f"{key_prefix}/{new_public_id()}"``;
    ``key_prefix`` is one or more ``/``-separated segments of letters, digits, ``-`` and
    ``_`` (an order id, say). Empty file inputs are skipped. Raises ``UploadRefused`` for
    every broken limit or rule, and lets other errors (the client disconnecting, storage
    failing) through; in every case each file already stored by this call is deleted first.
    """
    if not KEY_PREFIX.match(key_prefix):
        raise ValueError(f"key_prefix {key_prefix!r} is not a storage key prefix")
    boundary = _boundary(content_type)
    _check_declared_length(content_length, limits)
    intake = Intake(storage, limits, key_prefix)
    try:
        await _parse(body, boundary, intake)
        return Upload(fields=intake.fields, files=intake.files)
    except BaseException as exc:
        if isinstance(exc, UploadRefused):
            exc.fields = dict(intake.fields)
        # shielded: a cancelled request must still not leave files behind
        with anyio.CancelScope(shield=True):
            await intake.discard()
        raise


async def _parse(body: AsyncIterator[bytes], boundary: bytes, intake: Intake) -> None:
    """Feed the body to the parser a piece at a time, acting on its events as they come."""
    try:
        parser = MultipartParser(boundary, intake.callbacks())
    except FormParserError as exc:
        raise malformed(str(exc)) from None
    received_bytes = 0
    async for chunk in body:
        received_bytes += len(chunk)
        if received_bytes > intake.limits.total_bytes:
            raise too_large_total(intake.limits)
        for start in range(0, len(chunk), FEED_BYTES):
            try:
                parser.write(chunk[start : start + FEED_BYTES])
            except FormParserError as exc:
                raise malformed(str(exc)) from None
            await intake.handle()
    if not intake.is_complete:
        raise malformed("the body ended before the closing boundary")


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
    if not KEY_PREFIX.match(key_prefix):
        raise ValueError(f"key_prefix {key_prefix!r} is not a storage key prefix")
    name = sanitize_filename(filename)
    incoming = IncomingFile(
        Intake(storage, limits, key_prefix), "file", name, f"{key_prefix}/{new_public_id()}"
    )
    try:
        async for chunk in chunks:
            for start in range(0, len(chunk), FEED_BYTES):
                await incoming.write(chunk[start : start + FEED_BYTES])
        received = await incoming.finish()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await incoming.discard()
        raise
    if received is None:
        raise UploadRefused("type", f"« {name} » est vide", f'"{name}" is empty', filename=name)
    return received
