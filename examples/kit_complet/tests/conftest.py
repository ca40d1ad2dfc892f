"""Fixtures of the Kit Complet tests: the app on the test runtime, its products, a client.

The core's ``gd_*`` fixtures (SQLite, and PostgreSQL when ``GD_TEST_DATABASE_URL`` is set)
provide the database, the clock and the fake provider; the app turns the core's own sandbox
defaults off as it does in the demo.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from kit_complet import labels
from kit_complet.app import create_kit_app, kit_settings
from kit_complet.offers import seed

from gated_delivery.config import CoreSettings
from gated_delivery.runtime import Runtime

ADMIN = "admin@kit.example"


@pytest.fixture
def gd_settings(gd_settings: CoreSettings) -> CoreSettings:
    """The core's test settings, in sandbox mode (for the mailbox), with an admin address."""
    return kit_settings(gd_settings.model_copy(update={"sandbox": True, "admin_emails": [ADMIN]}))


@pytest.fixture
def gd_plugins(gd_plugins: list[object]) -> list[object]:
    """The core's test plugins and this app's form labels (its entry point, in the app)."""
    return [*gd_plugins, labels]


@pytest_asyncio.fixture
async def kit_app(gd_runtime: Runtime) -> Any:
    """The app on the test runtime, its products in the database, no embedded worker."""
    await seed(gd_runtime)
    return create_kit_app(runtime=gd_runtime, run_worker=False)


@pytest_asyncio.fixture
async def kit_client(kit_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in-process, as a browser would (HTML accepted)."""
    transport = httpx.ASGITransport(app=kit_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"accept": "text/html"}
    ) as client:
        yield client
