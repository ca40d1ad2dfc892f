"""A real webhook receiver for tests: a uvicorn server on a free loopback port.

It records every request as received and answers with scripted status codes, so a test can
check what the sender sent (with any verifier) and how it reacts to failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


@dataclass
class Received:
    """One request as the receiver saw it: the raw body, the headers and the query string."""

    body: bytes
    headers: dict[str, str]
    query: str = ""


@dataclass
class Receiver:
    """Records every POST to ``url``; answers the next scripted status (200 once it ends).

    A scripted ``None`` makes it wait ``hang_seconds`` before answering (a timeout).
    """

    url: str = ""
    received: list[Received] = field(default_factory=list)
    script: list[int | None] = field(default_factory=list)
    hang_seconds: float = 2.0

    async def endpoint(self, request: Request) -> Response:
        """The receiving route."""
        body = await request.body()
        self.received.append(Received(body, dict(request.headers), request.url.query))
        status = self.script.pop(0) if self.script else 200
        if status is None:
            await asyncio.sleep(self.hang_seconds)
            status = 200
        return PlainTextResponse(f"answer {status} " + "x" * 300, status_code=status)

    def of_type(self, event_type: str) -> list[Received]:
        """The requests whose body is an event of ``event_type``."""
        return [r for r in self.received if f'"type":"{event_type}"'.encode() in r.body]


@contextlib.asynccontextmanager
async def serve_receiver(
    *, tls: tuple[Path, Path] | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[Receiver]:
    """Run a ``Receiver`` at ``http://127.0.0.1:<free port>/hooks`` until the block ends.

    ``tls`` (a certificate file and its key file) serves https instead, at
    ``https://<host>:<port>/hooks``; ``host`` is only the name put in ``url``.
    """
    found = Receiver()
    app = Starlette(routes=[Route("/hooks", found.endpoint, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    scheme = "https" if tls else "http"
    found.url = f"{scheme}://{host}:{sock.getsockname()[1]}/hooks"
    cert, key = tls or (None, None)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task  # start-up failed: raise its error
                raise RuntimeError("the webhook receiver stopped before it started")
            await asyncio.sleep(0.01)
        yield found
    finally:
        server.should_exit = True
        await task
        sock.close()
