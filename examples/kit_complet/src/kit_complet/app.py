"""``create_kit_app``: the Kit Complet pages in front of the gated-delivery core app.

The core app (checkout, notifications, status, downloads, staff pages, simulators) is
mounted at the root, after the app's own routes: a route of ours with the same path, the
payment return address, takes precedence over the core's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any, Final

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route

from gated_delivery.api import (
    Clock,
    CoreSettings,
    Runtime,
    SecurityHeaders,
    build_runtime,
    check_secret_key,
    create_app,
    exception_handlers,
    is_https,
    load_settings,
    script_route,
)
from kit_complet import pages, sandbox
from kit_complet.files import KIT_INSTRUCTIONS, KIT_TEMPLATE

#: The pages' scripts (no inline script: the Content-Security-Policy forbids them).
STATIC: Final = Path(__file__).parent / "static"
#: The buyer's order page, where the core's mails send buyers ("suivre votre commande").
ORDER_PAGE: Final = "/commande/{order_id}"
#: Core defaults this app replaces: its own pages stand in for the sandbox home page, and
#: only the providers' simulators take payments (no generic fake provider).
REPLACED_DEFAULTS: Final = ("gated_delivery.sandbox.fake_provider", "gated_delivery.sandbox.pages")


def use_kit_defaults() -> None:
    """Give the environment this app's defaults where it leaves them unset.

    The openai-docx plugin and the core's commands (``worker``, ``reconcile``) read the
    environment themselves: this is how they get our instruction file and Word template,
    our order page, and the core's sandbox defaults turned off.
    """
    os.environ.setdefault("GD_PROMPT_PATH", str(KIT_INSTRUCTIONS))
    os.environ.setdefault("GD_DOCX_TEMPLATE", str(KIT_TEMPLATE))
    os.environ.setdefault("GD_ORDER_PAGE", ORDER_PAGE)
    os.environ.setdefault("GD_DISABLED_PLUGINS", ",".join(REPLACED_DEFAULTS))


def kit_settings(settings: CoreSettings | None = None) -> CoreSettings:
    """The settings (read from the environment if not given) with this app's defaults:
    the core's sandbox defaults off, and mails linking to our order page."""
    settings = check_secret_key(settings) if settings is not None else load_settings()
    disabled = [*settings.disabled_plugins]
    disabled += [name for name in REPLACED_DEFAULTS if name not in disabled]
    return settings.model_copy(
        update={"disabled_plugins": disabled, "order_page": settings.order_page or ORDER_PAGE}
    )


def routes(with_sandbox: bool) -> list[BaseRoute]:
    """The app's own pages (the mailbox only in sandbox mode)."""
    found: list[BaseRoute] = [
        Route("/", pages.catalogue, methods=["GET"]),
        Route("/kit-complet", pages.inquiry_form, methods=["GET"]),
        Route("/kit-complet", pages.inquiry_submit, methods=["POST"]),
        Route("/guide", pages.guide_form, methods=["GET"]),
        Route("/guide", pages.guide_submit, methods=["POST"]),
        Route("/commande/{order_id}", pages.order_page, methods=["GET"]),
        Route("/payments/{provider}/return", pages.payment_return, methods=["GET", "POST"]),
        script_route("/static/commande.js", STATIC / "commande.js"),
    ]
    if with_sandbox:
        found += [
            Route("/sandbox/", sandbox.sandbox_home, methods=["GET"]),
            Route("/sandbox/boite-mail", sandbox.inbox, methods=["GET"]),
            Route("/sandbox/boite-mail/{name}", sandbox.letter, methods=["GET"]),
        ]
    return found


def create_kit_app(
    settings: CoreSettings | None = None,
    *,
    plugins_extra: Iterable[object] = (),
    clock: Clock | None = None,
    runtime: Runtime | None = None,
    run_worker: bool | None = None,
) -> Starlette:
    """Build the app (``uvicorn --factory kit_complet.app:create_kit_app`` works too).

    Without ``runtime``, settings and plugins come from the environment, with this app's
    defaults (``use_kit_defaults``); a given ``runtime`` should come from ``build_kit_runtime``.
    """
    if runtime is None:
        use_kit_defaults()
        runtime = build_kit_runtime(settings, plugins_extra=plugins_extra, clock=clock)
    core = create_app(runtime=runtime, run_worker=run_worker)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Starlette does not run a mounted app's lifespan: the worker lives in the core's
        async with core.router.lifespan_context(core):
            yield

    handlers: Any = exception_handlers()
    app = Starlette(
        routes=[*routes(runtime.settings.sandbox), Mount("", app=core)],
        exception_handlers=handlers,
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders, https=is_https(runtime.settings.base_url))],
    )
    app.state.gd = runtime
    return app


def build_kit_runtime(
    settings: CoreSettings | None = None,
    *,
    plugins_extra: Iterable[object] = (),
    clock: Clock | None = None,
) -> Runtime:
    """The core runtime with this app's settings (see ``kit_settings``)."""
    return build_runtime(kit_settings(settings), plugins_extra=plugins_extra, clock=clock)
