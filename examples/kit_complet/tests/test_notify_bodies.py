"""Every installed provider answers a deeply nested notification with 400, no traceback."""

from __future__ import annotations

import logging

import httpx
import pytest
from kit_complet.app import build_kit_runtime, create_kit_app

from gated_delivery.config import CoreSettings

DEEP = b'{"a":' * 10_000 + b"1" + b"}" * 10_000  # under the 64 KiB body limit


async def test_each_providers_notify_route_refuses_nested_json(
    gd_settings: CoreSettings, caplog: pytest.LogCaptureFixture
) -> None:
    rt = build_kit_runtime(gd_settings)  # the installed plugins, as the demo runs them
    try:
        names = sorted(rt.providers)
        assert {"cinetpay", "orange-money"} <= set(names), names
        app = create_kit_app(runtime=rt, run_worker=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            with caplog.at_level(logging.INFO):
                for name in names:
                    response = await client.post(
                        f"/payments/{name}/notify",
                        content=DEEP,
                        headers={"content-type": "application/json"},
                    )
                    assert response.status_code == 400, (name, response.text)
    finally:
        await rt.close()
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
