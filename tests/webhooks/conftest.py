"""A real webhook receiver on a loopback port, and settings that let the sender reach it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gated_delivery.config import CoreSettings
from gated_delivery.models import WebhookEndpoint
from gated_delivery.runtime import Runtime
from gated_delivery.webhooks import endpoints


@dataclass
class Received:
    """One request as the receiver saw it: the raw body and the headers."""

    body: bytes
    headers: dict[str, str]
    query: str = ""


@dataclass
class Receiver:
    """Records every POST; answers with the next scripted status (200 once the script ends).

    A scripted ``None`` makes it wait longer than the sender's timeout before answering.
    """

    url: str = ""
    received: list[Received] = field(default_factory=list)
    script: list[int | None] = field(default_factory=list)
    hang_seconds: float = 2.0

    async def endpoint(self, request: Request) -> Response:
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


@pytest.fixture
def gd_settings(gd_settings: CoreSettings) -> CoreSettings:
    """Sandbox (http allowed), loopback allowed, a short timeout, a staff address.

    The sandbox's own fake provider is turned off: the tests register theirs.
    """
    return gd_settings.model_copy(
        update={
            "sandbox": True,
            "disabled_plugins": ["gated_delivery.sandbox.fake_provider"],
            "webhooks_allow_private": True,
            "webhooks_timeout_seconds": 0.5,
            "admin_emails": ["ops@example.org"],
        }
    )


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A uvicorn server on a free loopback port, recording what it receives."""
    found = Receiver()
    app = Starlette(routes=[Route("/hooks", found.endpoint, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    found.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            pytest.fail("the receiver stopped before it started")
        await asyncio.sleep(0.01)
    yield found
    server.should_exit = True
    await task
    sock.close()


@pytest_asyncio.fixture
async def endpoint(gd_runtime: Runtime, receiver: Receiver) -> tuple[WebhookEndpoint, str]:
    """An endpoint for every event type at the receiver, and its secret."""
    return await endpoints.add(gd_runtime, receiver.url, ["all"], actor="test")
