"""The sandbox home page: every product with a buy form, so the flow can be tried by hand."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gated_delivery.catalogue import list_products
from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import hookimpl
from gated_delivery.web.deps import runtime
from gated_delivery.web.templating import templates


async def home(request: Request) -> Response:
    """``GET /sandbox/``: products, tiers and a buy form for each tier."""
    rt = runtime(request)
    async with rt.db.transaction() as session:
        products = await list_products(session)
    return templates.TemplateResponse(
        request,
        "sandbox_home.html",
        {"products": products, "base": request.scope.get("root_path", "")},
    )


@hookimpl
def sandbox_routes(settings: CoreSettings, providers: Mapping[str, Any]) -> Iterable[BaseRoute]:
    """The sandbox home page at ``/sandbox/``."""
    return [Route("/sandbox/", home, methods=["GET"])]
