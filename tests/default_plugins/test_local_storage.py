"""The local storage backend (default_plugins/local_storage.py)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gated_delivery.default_plugins.local_storage import LocalStorage


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def broken() -> AsyncIterator[bytes]:
    yield b"half"
    raise ConnectionResetError("client went away")


async def test_save_measures_and_reads_back_in_chunks(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    stored = await storage.save("orderid123/file01", chunks(b"a" * 300_000, b"b"))
    assert stored.size_bytes == 300_001
    assert stored.sha256 == hashlib.sha256(b"a" * 300_000 + b"b").hexdigest()
    read = [c async for c in storage.open("orderid123/file01")]
    assert len(read) == 2
    assert b"".join(read) == b"a" * 300_000 + b"b"
    await storage.delete("orderid123/file01")
    await storage.delete("orderid123/file01")  # deleting twice is fine
    with pytest.raises(FileNotFoundError):
        [c async for c in storage.open("orderid123/file01")]


async def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(ConnectionResetError):
        await storage.save("orderid123/file02", broken())
    leftovers = await asyncio.to_thread(lambda: [p for p in tmp_path.rglob("*") if p.is_file()])
    assert leftovers == []


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "a/../../b", "short", "a b c d e f"])
async def test_keys_that_could_escape_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="refused storage key"):
        await LocalStorage(tmp_path).save(key, chunks(b"x"))
