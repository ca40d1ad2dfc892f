"""Reading request bodies with a size limit enforced while reading."""

from __future__ import annotations

from typing import Final

from starlette.exceptions import HTTPException
from starlette.requests import Request

#: The largest notification or form body the core accepts.
MAX_BODY_BYTES: Final = 64 * 1024


async def read_limited(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise HTTPException(413, f"body larger than {limit // 1024} KiB refused")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body larger than {limit // 1024} KiB refused")
        chunks.append(chunk)
    return b"".join(chunks)
