"""The buyer's real address behind a proxy, believed only from the proxies we trust.

A request whose peer is in ``GD_TRUSTED_PROXIES`` may say who it forwards for, in
``Forwarded`` (RFC 7239) or ``X-Forwarded-For``. The client is the right-most hop that is not
itself a trusted proxy: every hop to its left was written by someone we do not trust, so a
buyer who sends a made-up ``X-Forwarded-For`` only adds hops we skip. A request from any
other peer keeps its own address, whatever headers it carries. The scheme the proxy saw
(``proto=`` / ``X-Forwarded-Proto``) is taken from a trusted peer too.

``create_app`` installs ``TrustedProxies``, so the rate limits, the audit trail and the logs
all see the same address, under ``gated-delivery serve`` or in a host's own server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> list[Network]:
    """Addresses and CIDRs (``10.0.0.0/8``, ``127.0.0.1``, ``::1``) as networks."""
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]


def _address(value: str) -> str | None:
    """A hop as an address without port or brackets; None if it is not an address."""
    value = value.strip().strip('"')
    if value.startswith("["):  # "[2001:db8::1]:4711"
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # "192.0.2.1:4711"
        value = value.partition(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None  # "unknown", an obfuscated "_hidden", or garbage


def forwarded_hops(headers: Headers) -> tuple[list[str], list[str]]:
    """The hops (left to right) and protocols the proxies wrote; ``Forwarded`` first."""
    hops: list[str] = []
    protos: list[str] = []
    forwarded = headers.getlist("forwarded")
    if forwarded:
        for element in ",".join(forwarded).split(","):
            for pair in element.split(";"):
                name, _, value = pair.strip().partition("=")
                if name.lower() == "for":
                    hops.append(value)
                elif name.lower() == "proto":
                    protos.append(value.strip('"').lower())
        return hops, protos
    for header in headers.getlist("x-forwarded-for"):
        hops += [hop for hop in header.split(",") if hop.strip()]
    for header in headers.getlist("x-forwarded-proto"):
        protos += [p.strip().lower() for p in header.split(",") if p.strip()]
    return hops, protos


def client_address(peer: str, hops: Sequence[str], trusted: Sequence[Network]) -> str:
    """The right-most hop that is not a trusted proxy, walking left from ``peer``.

    The walk stops at the first hop that is not an address (the proxy before it is then the
    client we know), and at the first untrusted one (the client).
    """
    client = peer
    for hop in reversed(hops):
        if not is_trusted(client, trusted):
            break
        address = _address(hop)
        if address is None:
            break
        client = address
    return client


def is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    """Whether ``address`` is one of the trusted proxies."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class TrustedProxies:
    """ASGI middleware: replaces the peer's address by the client's, from trusted peers only."""

    def __init__(self, app: ASGIApp, trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted = parse_networks(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite ``client`` (and ``scheme``) when a trusted proxy forwarded the request."""
        peer = scope.get("client")
        if scope["type"] in ("http", "websocket") and peer and is_trusted(peer[0], self.trusted):
            hops, protos = forwarded_hops(Headers(scope=scope))
            if hops:
                scope["client"] = (client_address(peer[0], hops, self.trusted), 0)
            if protos and protos[-1] in ("http", "https"):
                websocket = scope["type"] == "websocket"
                secure = protos[-1] == "https"
                scope["scheme"] = ("wss" if secure else "ws") if websocket else protos[-1]
        await self.app(scope, receive, send)
