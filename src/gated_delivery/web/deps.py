"""What routes take from the app: the runtime built by ``create_app``."""

from __future__ import annotations

from starlette.requests import Request

from gated_delivery.runtime import Runtime


def runtime(request: Request) -> Runtime:
    """The app's runtime (settings, database, plugins, clock)."""
    rt: Runtime = request.app.state.gd
    return rt


def url_for_app(request: Request, path: str) -> str:
    """``path`` under the prefix the app is mounted at (``root_path``)."""
    return f"{request.scope.get('root_path', '')}{path}"


def client_ip(request: Request) -> str:
    """The client address as the server saw it (a proxy must pass it on itself)."""
    return request.client.host if request.client else "unknown"
