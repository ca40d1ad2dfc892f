"""The staff pages, mounted at ``/staff`` by ``create_app``.

The overview (the staff home, with the exports), the orders list, order detail and the
staff actions, server-rendered (no JavaScript needed),
French by default and English on request; templates may be overridden by the host app under
``GD_TEMPLATES_DIR/staff/``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from gated_delivery.plugin_types import StaffUser
from gated_delivery.runtime import Runtime
from gated_delivery.web.staff import actions, auth, overview, pages
from gated_delivery.web.staff import webhooks as webhook_pages
from gated_delivery.web.staff.site import StaffSite

__all__ = ["StaffSite", "mount"]

Page = Callable[[StaffSite, Request, StaffUser], Awaitable[Response]]


def _logged_in(site: StaffSite, page: Page) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        user = await site.current_user(request)
        if user is None:
            return site.login_redirect(request)
        response = await page(site, request, user)
        site.keep_alive(request, response)
        return response

    return endpoint


def _action(site: StaffSite, action: actions.Action) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await actions.run_action(site, request, action)

    return endpoint


def _with_site(
    site: StaffSite, handler: Callable[[StaffSite, Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await handler(site, request)

    return endpoint


def routes(site: StaffSite) -> list[BaseRoute]:
    """The staff routes, relative to their mount point."""

    found: list[BaseRoute] = [
        Route("/", _logged_in(site, overview.overview_page), methods=["GET"]),
        Route("/login", _with_site(site, auth.login_page), methods=["GET"]),
        Route("/login", _with_site(site, auth.login), methods=["POST"]),
        Route("/logout", _with_site(site, auth.logout), methods=["POST"]),
        Route("/orders", _logged_in(site, pages.orders_list), methods=["GET"]),
        Route("/exports", _with_site(site, overview.export), methods=["POST"]),
        Route("/orders/{order_id}", _logged_in(site, pages.order_detail), methods=["GET"]),
        Route("/orders/{order_id}/final", _with_site(site, actions.upload_final), methods=["POST"]),
        Route("/assets/{asset_id}", _logged_in(site, pages.asset_download), methods=["GET"]),
    ]
    for name, action in actions.ACTIONS.items():
        found.append(Route(f"/orders/{{order_id}}/{name}", _action(site, action), methods=["POST"]))
    found += webhook_pages.routes(site)  # admins only
    return found


def mount(rt: Runtime, path: str = "/staff") -> Mount:
    """The staff pages of ``rt`` as one ``Mount`` (``create_app`` adds it at ``/staff``)."""
    return Mount(path, routes=routes(StaffSite(rt)))
