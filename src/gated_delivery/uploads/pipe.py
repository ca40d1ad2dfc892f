"""The storage pipe: one file's chunks carried to ``StorageBackend.save`` as they arrive,
with its size limit and its type told from its content on the way."""

from __future__ import annotations

import asyncio
import codecs
from collections import deque
from collections.abc import AsyncIterator
from typing import Final, Protocol

from gated_delivery.plugin_protocols import StorageBackend
from gated_delivery.plugin_types import StoredObject
from gated_delivery.uploads.limits import ReceivedFile, UploadLimits
from gated_delivery.uploads.refusals import UploadRefused, size_en, size_fr
from gated_delivery.uploads.sniffing import (
    DOCX,
    KINDS,
    SNIFF_BYTES,
    TXT,
    XLSX,
    ZIP,
    ZIP_TAIL_BYTES,
    display_name,
    office_kind,
    sniff,
    zip_entries,
)

#: Storage gets chunks of about this size: each chunk may cost a backend a system call or a
#: thread hop (the local one does both), so 64 KiB pieces would make it the bottleneck.
STORE_CHUNK_BYTES: Final = 256 * 1024
#: Chunks waiting for the storage backend: with ``STORE_CHUNK_BYTES`` (and a ZIP file's
#: tail) this bounds what a slow backend can make us hold to about 3 MiB per upload.
PIPE_DEPTH: Final = 4


class Receiver(Protocol):
    """What a file on its way needs of the upload it belongs to."""

    @property
    def limits(self) -> UploadLimits: ...
    @property
    def storage(self) -> StorageBackend: ...
    def count_file(self, incoming: IncomingFile) -> None:
        """Count the file once its first bytes show it is one (``UploadRefused`` past the limit)."""


class Aborted(Exception):
    """Raised from the chunks a backend's ``save`` is reading, so that it drops the file."""


#: Marks the end of a file in the pipe: real chunks are never empty.
END: Final = b""


class Pipe:
    """Carries one file's chunks to ``storage.save`` running as a task, at most
    ``PIPE_DEPTH`` at a time, so that a slow backend slows the reading of the request."""

    def __init__(self, storage: StorageBackend, key: str) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(PIPE_DEPTH)
        self._is_aborted = False
        self.task: asyncio.Task[StoredObject] = asyncio.create_task(
            storage.save(key, self._chunks())
        )

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self._queue.get()
            if self._is_aborted:
                raise Aborted("upload refused; discard this file")
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
        await self.send(END)
        return await self.task

    async def abort(self) -> None:
        """Make the backend drop the file and wait until it has."""
        self._is_aborted = True
        while not self._queue.empty():  # nothing queued matters now; make room to wake it
            self._queue.get_nowait()
        self._queue.put_nowait(END)
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


class IncomingFile:
    """One file part on its way to storage: size limit, type check, then the pipe."""

    def __init__(self, intake: Receiver, field_name: str, filename: str, key: str) -> None:
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
        self._pending = bytearray()  # not yet handed to storage; see STORE_CHUNK_BYTES
        self.pipe: Pipe | None = None

    async def write(self, data: bytes) -> None:
        limits = self._intake.limits
        self._size += len(data)
        if self._size > limits.max_file_bytes:
            raise UploadRefused(
                "file_size",
                f"« {self.filename} » : fichier trop volumineux "
                f"({size_fr(limits.max_file_bytes)} au plus)",
                f'"{self.filename}": file too large (at most {size_en(limits.max_file_bytes)})',
                field=self.field,
                filename=self.filename,
            )
        if self.pipe is None:
            self._head += data
            if len(self._head) >= SNIFF_BYTES:
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
            entries = zip_entries(b"".join(self._zip_tail), self._size)
            names = [name for name, _ in entries] if entries is not None else None
            self._media_type = office_kind(names) if names is not None else None
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
            filename=display_name(self.filename, KINDS[self._media_type]),
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
        found = sniff(head)
        if found == ZIP:
            self._is_zip = True  # DOCX, XLSX or another ZIP: its directory will say
        elif found is not None:
            self._media_type = found
        else:
            self._media_type = TXT  # anything else must be valid UTF-8 text
            self._text = codecs.getincrementaldecoder("utf-8")("strict")
        if self._media_type is not None and self._media_type not in allowed:
            raise self._wrong_type()
        if self._is_zip and not allowed & {DOCX, XLSX}:
            raise self._wrong_type()
        self._inspect(head)
        self.pipe = Pipe(self._intake.storage, self.key)
        await self._store(head)

    async def _store(self, data: bytes) -> None:
        assert self.pipe is not None
        self._pending += data
        if len(self._pending) >= STORE_CHUNK_BYTES:
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
            while self._zip_tail_bytes - len(self._zip_tail[0]) >= ZIP_TAIL_BYTES:
                self._zip_tail_bytes -= len(self._zip_tail.popleft())

    def _check_inflation(self, unzipped: int) -> None:
        limits = self._intake.limits
        ceiling = min(limits.max_unzipped_bytes, limits.max_zip_ratio * max(self._size, 1))
        if unzipped > ceiling:
            raise UploadRefused(
                "archive",
                f"« {self.filename} » : son contenu décompressé serait trop volumineux "
                f"({size_fr(unzipped)} pour un fichier de {size_fr(self._size)}) ; "
                "enregistrez le document à nouveau ou envoyez-le en PDF",
                f'"{self.filename}": its content would inflate to {size_en(unzipped)} '
                f"from {size_en(self._size)}; save the document again or send it as PDF",
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
