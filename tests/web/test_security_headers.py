"""Every route of the core app answers with the security headers; HSTS only over https."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gated_delivery.runtime import Runtime
from gated_delivery.testing.security import every_request, missing_headers
from gated_delivery.web.app import create_app


async def walk(app: Any, base_url: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        requests = list(every_request(app))
        assert len(requests) > 15, requests
        for method, path in requests:
            for accept in ("text/html", "application/json"):
                response = await client.request(method, path, headers={"accept": accept})
                missing = missing_headers(response, https=base_url.startswith("https"))
                if missing:
                    problems[f"{method} {path} ({response.status_code})"] = missing
    return problems


@pytest.mark.parametrize("base_url", ["http://testserver", "https://testserver"])
async def test_every_route_carries_the_headers(gd_runtime: Runtime, base_url: str) -> None:
    settings = gd_runtime.settings.model_copy(update={"base_url": base_url, "sandbox": True})
    gd_runtime.settings = settings
    app = create_app(runtime=gd_runtime, run_worker=False)
    assert await walk(app, base_url) == {}


async def test_the_return_page_has_no_inline_script(
    gd_client: httpx.AsyncClient, gd_order: Any
) -> None:
    page = await gd_client.get(f"/payments/fake/return?order={gd_order.id}")
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert 'src="/static/return-status.js"' in page.text
    script = await gd_client.get("/static/return-status.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "statusUrl" in script.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
