"""Error responses (web/errors.py): short, typed, never a traceback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gated_delivery.uploads import UploadRefused
from gated_delivery.web.errors import exception_handlers


def app_raising(exc: Exception) -> Starlette:
    async def endpoint(request: Request) -> Response:
        raise exc

    handlers: Any = exception_handlers()
    return Starlette(routes=[Route("/", endpoint, methods=["POST"])], exception_handlers=handlers)


@pytest.mark.parametrize(
    ("limit", "status"), [("file_size", 413), ("total", 413), ("content_type", 415), ("type", 400)]
)
async def test_upload_refusals_keep_their_status(limit: str, status: int) -> None:
    refused = UploadRefused(limit, "« a.exe » : refusé", '"a.exe": refused', filename="a.exe")  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app_raising(refused))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/")
    assert response.status_code == status
    assert response.json() == {"error": '« a.exe » : refusé / "a.exe": refused'}
    assert (response.headers.get("connection") == "close") is (status == 413)


async def test_a_bug_shows_a_reference_not_a_traceback() -> None:
    transport = httpx.ASGITransport(
        app=app_raising(RuntimeError("secret=hunter2")), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/", headers={"accept": "text/html"})
    assert response.status_code == 500
    assert "quote reference" in response.text
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
