"""Every page of the Kit Complet (and of the core under it) carries the security headers."""

from __future__ import annotations

from pathlib import Path

import httpx
import kit_complet
import pytest
from kit_complet.app import create_kit_app
from kit_complet.offers import seed

from gated_delivery.runtime import Runtime
from gated_delivery.testing.security import every_request, missing_headers


@pytest.mark.parametrize("base_url", ["http://testserver", "https://testserver"])
async def test_every_page_carries_the_headers(gd_runtime: Runtime, base_url: str) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(update={"base_url": base_url})
    await seed(gd_runtime)
    app = create_kit_app(runtime=gd_runtime, run_worker=False)
    requests = list(every_request(app))
    assert ("GET", "/kit-complet") in requests
    assert ("GET", "/staff/login") in requests
    problems: dict[str, list[str]] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        for method, path in requests:
            response = await client.request(method, path, headers={"accept": "text/html"})
            missing = missing_headers(response, https=base_url.startswith("https"))
            if missing:
                problems[f"{method} {path} ({response.status_code})"] = missing
    assert problems == {}


async def test_the_order_page_loads_its_script_as_a_file(kit_client: httpx.AsyncClient) -> None:
    page = await kit_client.get("/commande/doesnotexist0")
    assert page.status_code == 404
    script = await kit_client.get("/static/commande.js")
    assert script.status_code == 200
    assert "dataset.polling" in script.text


def test_no_template_holds_an_inline_script() -> None:
    templates = Path(kit_complet.__file__).parent / "templates"
    inline = [t.name for t in templates.glob("*.html") if "<script>" in t.read_text()]
    assert inline == []
