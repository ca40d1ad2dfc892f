"""Security headers on every response: an ASGI middleware host apps can reuse.

The pages carry no inline script (their scripts are files under ``/static/``), so the
Content-Security-Policy allows scripts from the site itself only; no page may be framed
(``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``). HSTS is sent only when the
site is served over https (``GD_BASE_URL``): over plain http it would mean nothing, and
on a local demo it would pin the browser to https.

A header the route set itself is kept (the staff pages send a stricter policy). The sandbox
simulators stand in for the providers' own sites, whose pages run inline scripts (a form
sent back on load): under their prefixes (``simulator_prefixes``) inline scripts are allowed,
and framing stays forbidden.
``form-action`` is left out on purpose: the checkout form's answer redirects the buyer to
the provider's payment page, and browsers apply ``form-action`` to that redirect too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
HEADERS: Final = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
}
HSTS: Final = "max-age=31536000"
SIMULATOR_POLICY: Final = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
)


class SecurityHeaders:
    """Add ``HEADERS`` (and HSTS when ``https``) to every HTTP response of ``app``."""

    def __init__(
        self, app: ASGIApp, *, https: bool, simulator_prefixes: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.headers = dict(HEADERS)
        if https:
            self.headers["strict-transport-security"] = HSTS
        self.simulator_prefixes = tuple(p.rstrip("/") for p in simulator_prefixes if p.strip("/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the missing headers to its response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        wanted = self.headers
        if self._is_simulator(scope):
            wanted = {**wanted, "content-security-policy": SIMULATOR_POLICY}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _is_simulator(self, scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        if root and path.startswith(root):
            path = path[len(root) :]
        return any(path == p or path.startswith(f"{p}/") for p in self.simulator_prefixes)


def simulator_prefixes(routes: Iterable[object]) -> list[str]:
    """``/sandbox/<name>`` of each sandbox route a plugin offers (not ``/sandbox/`` itself)."""
    found = []
    for route in routes:
        parts = str(getattr(route, "path", "")).split("/")
        if len(parts) > 2 and parts[1] == "sandbox" and parts[2] and "{" not in parts[2]:
            found.append(f"/sandbox/{parts[2]}")
    return found


def is_https(base_url: str) -> bool:
    """True when the public address (``GD_BASE_URL``) is served over https."""
    return base_url.startswith("https://")
