"""Binding each request's order and provider to its log records, once, for every route.

The ids come from the matched route's path (``{order_id}``, ``{provider}``) or the
``?order=`` the provider pages and webhooks carry. Starlette's router writes the path
parameters into the request's scope in place, so reading them when a record is made sees
them even though this middleware runs before the route is matched.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from gated_delivery import logcontext


def ids_of(scope: Scope) -> Mapping[str, str]:
    """The order and provider a request is about, as far as its URL says."""
    params = scope.get("path_params") or {}
    found = {key: str(params[key]) for key in ("order_id", "provider") if params.get(key)}
    if "order_id" not in found:
        order = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("order")
        if order and order[0].isalnum():  # an id is letters and digits; anything else is noise
            found["order_id"] = order[0][:64]
    return found


class RequestLogContext:
    """ASGI middleware: every record logged while handling a request carries its ids."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle the request inside its logging context."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with logcontext.bind_lazily(lambda: ids_of(scope)):
            await self.app(scope, receive, send)
