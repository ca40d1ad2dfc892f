"""A real webhook receiver for tests: a server on a free loopback port (``loopback.serve``).

It records every request as received and answers with scripted status codes, so a test can
check what the sender sent (with any verifier) and how it reacts to failures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gated_delivery.testing.loopback import serve


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


@contextlib.contextmanager
def serve_receiver(*, tls: tuple[Path, Path] | None = None) -> Iterator[Receiver]:
    """Run a ``Receiver`` at ``http://127.0.0.1:<free port>/hooks`` until the block ends.

    ``tls`` (a certificate file and its key file) serves https instead.
    """
    found = Receiver()
    app = Starlette(routes=[Route("/hooks", found.endpoint, methods=["POST"])])
    with serve(app, tls=tls) as base:
        found.url = f"{base}/hooks"
        yield found
