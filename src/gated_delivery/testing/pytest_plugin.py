"""pytest fixtures for gated-delivery and its plugins (all named ``gd_*``).

Every database fixture runs twice: on SQLite, and on PostgreSQL when ``GD_TEST_DATABASE_URL``
points at a server (a throwaway database is created there and dropped at the end).
Override ``gd_plugins`` to register your own plugin objects, ``gd_price`` to change the
price of the test product.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    import httpx
    import pytest_asyncio

    HAS_ASYNC_SUPPORT = True
except ImportError:  # pragma: no cover - the plugin stays inert without the testing extra
    HAS_ASYNC_SUPPORT = False

if HAS_ASYNC_SUPPORT:
    from gated_delivery.catalogue import upsert_product
    from gated_delivery.config import SANDBOX_SECRET_KEY, CoreSettings
    from gated_delivery.db import Database
    from gated_delivery.jobs.worker import Worker
    from gated_delivery.models import Order, PriceTier, Product
    from gated_delivery.money import Money
    from gated_delivery.orders import create_order
    from gated_delivery.plugin_types import ReportedStatus
    from gated_delivery.runtime import Runtime, build_runtime
    from gated_delivery.sandbox.fake_provider import FakeProvider
    from gated_delivery.testing import databases
    from gated_delivery.testing.clock import FrozenClock
    from gated_delivery.testing.plugin_objects import ProviderPlugin
    from gated_delivery.web.app import create_app

    TEST_SECRET_KEY = "test-secret-key-" + "x" * 32
    assert TEST_SECRET_KEY != SANDBOX_SECRET_KEY

    @pytest.fixture(scope="session")
    def gd_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
        """A migrated SQLite file, made once per session and copied for each test."""
        return databases.sqlite_template(tmp_path_factory.mktemp("gd-template"))

    @pytest.fixture(scope="session")
    def gd_postgresql_url() -> Iterator[str]:
        """A migrated throwaway PostgreSQL database for this session; skips without one."""
        server = os.environ.get("GD_TEST_DATABASE_URL")
        if not server:
            pytest.skip("PostgreSQL tests need GD_TEST_DATABASE_URL (postgresql+asyncpg://...)")
        url = databases.create_postgresql(server)
        yield url
        databases.drop_postgresql(server, url)

    @pytest.fixture(params=["sqlite", "postgresql"])
    def gd_backend(request: pytest.FixtureRequest) -> str:
        """Which database a test runs on; every database test runs on both."""
        return str(request.param)

    @pytest.fixture
    def gd_database_url(gd_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
        """An empty, migrated database for one test."""
        if gd_backend == "sqlite":
            template = request.getfixturevalue("gd_sqlite_template")
            return databases.sqlite_copy(template, tmp_path)
        url: str = request.getfixturevalue("gd_postgresql_url")
        asyncio.run(databases.truncate_postgresql(url))
        return url

    @pytest.fixture
    def gd_clock() -> FrozenClock:
        """A clock that moves only on ``advance``; the runtime and worker use it."""
        return FrozenClock()

    @pytest.fixture
    def gd_fake_provider() -> FakeProvider:
        """The fake payment provider, registered as ``fake`` by ``gd_plugins``."""
        return FakeProvider(secret=b"fake-provider-test-secret", base_url="http://testserver")

    @pytest.fixture
    def gd_plugins(gd_fake_provider: FakeProvider) -> list[object]:
        """Plugin objects registered on top of the defaults (override to add yours)."""
        return [ProviderPlugin(gd_fake_provider)]

    @pytest.fixture
    def gd_settings(gd_database_url: str, tmp_path: Path) -> CoreSettings:
        """Core settings for tests: the test database, temp folders, no embedded worker."""
        return CoreSettings(
            database_url=gd_database_url,
            secret_key=TEST_SECRET_KEY,
            base_url="http://testserver",
            private_media_root=tmp_path / "media",
            mail_dir=tmp_path / "mail",
            embedded_worker=False,
            reconcile_every_minutes=0,
            # tests buy many orders from one address; the limits' own tests lower these
            inquiries_per_client_per_hour=100_000,
            inquiries_per_email_per_hour=100_000,
        )

    @pytest_asyncio.fixture
    async def gd_runtime(
        gd_settings: CoreSettings, gd_plugins: list[object], gd_clock: FrozenClock
    ) -> AsyncIterator[Runtime]:
        """The runtime (database, plugins, clock) shared by the app and the worker."""
        rt = build_runtime(
            gd_settings,
            plugins_extra=gd_plugins,
            clock=gd_clock,
            db=Database.from_url(gd_settings.database_url),
            load_entry_points=False,
        )
        yield rt
        await rt.close()

    @pytest.fixture
    def gd_app(gd_runtime: Runtime) -> Any:
        """The core app on the test runtime."""
        return create_app(runtime=gd_runtime, run_worker=False)

    @pytest_asyncio.fixture
    async def gd_client(gd_app: Any) -> AsyncIterator[httpx.AsyncClient]:
        """An httpx client talking to the app in-process."""
        transport = httpx.ASGITransport(app=gd_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client

    @pytest.fixture
    def gd_run_jobs(gd_runtime: Runtime) -> Callable[[], Awaitable[int]]:
        """Run every job due now (by the test clock); returns how many ran."""
        worker = Worker(gd_runtime)
        return worker.run_once

    @pytest.fixture
    def gd_price() -> Money:
        """The price of the test product's tier (override for a provider's own rules)."""
        return Money(5000, "XOF")

    @pytest_asyncio.fixture
    async def gd_product(gd_runtime: Runtime, gd_price: Money) -> Product:
        """A product delivered without generation or review, with one tier ``std``."""
        async with gd_runtime.db.transaction() as session:
            product, _tier = await upsert_product(
                session,
                slug="guide",
                title="Guide",
                tier_id="std",
                tier_label="Standard",
                price=gd_price,
            )
        return product

    @pytest_asyncio.fixture
    async def gd_order(gd_runtime: Runtime, gd_product: Product) -> Order:
        """An UNPAID order for the test product."""
        async with gd_runtime.db.transaction() as session:
            return await create_order(
                session,
                product_slug=gd_product.slug,
                tier_id="std",
                buyer_email="awa@example.org",
                buyer_name="Awa",
                now=gd_runtime.clock.now(),
            )

    __all__ = ["PriceTier", "ReportedStatus"]
