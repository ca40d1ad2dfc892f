"""``create_app``: the core's routes as one Starlette app, mountable under any prefix."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, cast

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from gated_delivery import log_redaction, plugins
from gated_delivery.clock import Clock
from gated_delivery.config import CoreSettings, check_secret_key, load_settings
from gated_delivery.db import Database
from gated_delivery.jobs.relay import run_jobs
from gated_delivery.runtime import Runtime, build_runtime
from gated_delivery.web import buy, download, metrics, notify, purchases, status
from gated_delivery.web.errors import exception_handlers
from gated_delivery.web.proxies import TrustedProxies
from gated_delivery.web.request_context import RequestLogContext
from gated_delivery.web.scripts import SCRIPTS, script_route
from gated_delivery.web.security_headers import SecurityHeaders, is_https, simulator_prefixes
from gated_delivery.web.staff import mount as staff_pages


def routes() -> list[BaseRoute]:
    """The core's routes (see the table in the design document)."""
    return [
        Route("/buy/{product_slug}/{tier_id}", buy.buy, methods=["POST"]),
        Route("/checkout/{order_id}", buy.choose_provider, methods=["GET"]),
        Route("/checkout/{order_id}/{provider}", buy.checkout, methods=["POST"]),
        Route("/payments/{provider}/notify", notify.notify, methods=["GET", "POST"]),
        Route("/payments/{provider}/return", notify.return_page, methods=["GET", "POST"]),
        Route("/orders/{order_id}/status", status.order_status, methods=["GET"]),
        Route("/download/{token}", download.landing, methods=["GET", "HEAD"]),
        Route("/download/{token}", download.download, methods=["POST"]),
        Route("/download/{token}/renew", download.renew, methods=["POST"]),
        script_route("/static/return-status.js", SCRIPTS / "return-status.js"),
        Route("/healthz", status.healthz, methods=["GET"]),
        Route("/readyz", status.readyz, methods=["GET"]),
    ]


def create_app(
    settings: CoreSettings | None = None,
    *,
    plugins_extra: Iterable[object] = (),
    clock: Clock | None = None,
    db: Database | None = None,
    runtime: Runtime | None = None,
    run_worker: bool | None = None,
) -> Starlette:
    """Build the app: settings checked, plugins loaded, routes and sandbox mounted.

    ``plugins_extra`` registers plugin objects directly (a host app's own, or a test's).
    ``run_worker`` runs the embedded worker inside the app (default: ``GD_EMBEDDED_WORKER``).
    Nothing is global: two apps in one process are independent.
    """
    if runtime is None:
        settings = check_secret_key(settings) if settings is not None else load_settings()
        runtime = build_runtime(settings, plugins_extra=plugins_extra, clock=clock, db=db)
    rt = runtime
    log_redaction.install()  # no download token in the access log, whichever server runs us
    simulated = (
        plugins.sandbox_routes(rt.pm, rt.settings, rt.providers) if rt.settings.sandbox else []
    )
    with_worker = rt.settings.embedded_worker if run_worker is None else run_worker
    app = Starlette(
        routes=[*_core_routes(rt), *simulated],
        middleware=_middleware(rt, simulated),
        exception_handlers=cast(Any, exception_handlers()),
        lifespan=_lifespan(rt, with_worker),
    )
    app.state.gd = rt
    return app


def _core_routes(rt: Runtime) -> list[BaseRoute]:
    """The buyer routes, the staff pages, and the optional pages the settings turn on."""
    found = routes()
    found.append(staff_pages(rt))  # /staff: login, orders, actions
    if rt.settings.purchases_enabled:
        found += purchases.routes()  # /purchases: "Mes achats"
    if rt.settings.metrics:
        found.append(Route("/metrics", metrics.scrape, methods=["GET"]))
    return found


def _middleware(rt: Runtime, simulated: list[BaseRoute]) -> list[Middleware]:
    return [
        # first, so that everything after it sees the client's address, not the proxy's
        Middleware(TrustedProxies, trusted=rt.settings.trusted_proxies),
        Middleware(RequestLogContext),
        Middleware(
            SecurityHeaders,
            https=is_https(rt.settings.base_url),
            simulator_prefixes=simulator_prefixes(simulated),
        ),
    ]


def _lifespan(
    rt: Runtime, with_worker: bool
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        # with GD_JOB_BACKEND=celery this is the relay only: Celery workers run the jobs
        task = asyncio.create_task(run_jobs(rt, stop)) if with_worker else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            await rt.close()

    return lifespan
