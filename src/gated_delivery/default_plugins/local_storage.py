"""Default storage: a private folder (``PRIVATE_MEDIA_ROOT``), outside any static route."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Final

from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import hookimpl
from gated_delivery.plugin_protocols import StorageBackend
from gated_delivery.plugin_types import StoredObject

CHUNK_BYTES: Final = 256 * 1024
_KEY: Final = re.compile(r"^[A-Za-z0-9_-]{8,64}(/[A-Za-z0-9_-]{1,64})?$")


class LocalStorage:
    """Files under one private root; keys are generated ids, checked before any path is built."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        # keys come from the core, but check anyway: no path is ever built from other input
        if not _KEY.match(key):
            raise ValueError(f"refused storage key {key!r}")
        return self.root / key

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredObject:
        """Stream into a temporary file, fsync it, then rename it into place."""
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        fd, tmp_name = await asyncio.to_thread(
            tempfile.mkstemp, dir=path.parent, prefix=".incoming-"
        )
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    await asyncio.to_thread(out.write, chunk)
                await asyncio.to_thread(out.flush)
                await asyncio.to_thread(os.fsync, out.fileno())
            await asyncio.to_thread(os.replace, tmp_name, path)
        except BaseException:
            # also on cancellation: never leave a partial file behind
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        return StoredObject(key=key, size_bytes=size, sha256=digest.hexdigest())

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """Yield the file in chunks of 256 KiB."""
        handle = await asyncio.to_thread(open, self._path(key), "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        """Remove the file if it is there."""
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


@hookimpl
def storage_backends(settings: CoreSettings) -> Iterable[StorageBackend]:
    """Offer the local folder backend under the name ``local``."""
    return [LocalStorage(settings.private_media_root)]
