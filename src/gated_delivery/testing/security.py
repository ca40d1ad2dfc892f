"""Checking a host app's pages for the security headers (``SecurityHeaders``).

``every_request`` lists one request per method of every route of an app, mounted apps
included, with each path parameter filled with a placeholder; ``missing_headers`` says
which of the expected headers a response lacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
from starlette.routing import Mount, Route

from gated_delivery.web.security_headers import HEADERS

_PARAM = re.compile(r"\{[^}]+\}")


def every_request(app: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(method, path)`` for every route of ``app`` (a Starlette app, router or Mount)."""
    for route in getattr(app, "routes", []):
        if isinstance(route, Mount):
            inner = route.app if route.app is not None else route
            yield from every_request(inner, prefix + route.path)
        elif isinstance(route, Route):
            path = _PARAM.sub("x0", prefix + route.path)
            for method in sorted(route.methods or {"GET"}):
                yield method, path


def missing_headers(response: httpx.Response, *, https: bool = False) -> list[str]:
    """The security headers ``response`` lacks (HSTS required when ``https``, else refused)."""
    missing = [name for name in HEADERS if name not in response.headers]
    if https and "strict-transport-security" not in response.headers:
        missing.append("strict-transport-security")
    if not https and "strict-transport-security" in response.headers:
        missing.append("no strict-transport-security over http")
    return missing
