"""Where a webhook may go: never inside the shop's own network (SSRF), checked at send time.

The host name is resolved, every address it resolves to is checked, and the request then
goes to the checked address itself (the name kept for ``Host`` and TLS), so a DNS answer
that changes between the check and the connection cannot point it elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import httpx

from gated_delivery.errors import DestinationRefused

#: Takes a host name and a port, returns the addresses it resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_URL_LENGTH: Final = 2000


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer for ``host`` (A and AAAA records)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: str) -> bool:
    """True if ``address`` is a global unicast address (not loopback, private, link-local...)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_http: bool) -> httpx.URL:
    """The parsed URL if its form is acceptable; ``DestinationRefused`` saying why not."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise DestinationRefused("the URL cannot be parsed") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parsed.scheme not in schemes:
        raise DestinationRefused("only https:// URLs are allowed (http:// only with GD_SANDBOX=1)")
    if not parsed.host:
        raise DestinationRefused("the URL has no host")
    if parsed.userinfo:
        raise DestinationRefused("the URL may not carry a user name or password")
    return parsed


@dataclass(frozen=True)
class Destination:
    """A checked destination: connect to ``connect_url``, naming ``host`` to the server."""

    connect_url: httpx.URL
    host: str
    host_header: str
    address: str


async def resolve(
    url: str,
    *,
    allow_private: bool,
    allow_http: bool,
    resolver: Resolver = system_resolver,
) -> Destination:
    """Resolve and check ``url``; ``DestinationRefused`` if any address is not public.

    ``socket.gaierror`` (the name does not resolve, perhaps for a moment) propagates.
    """
    parsed = check_url(url, allow_http=allow_http)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(parsed.host))]
    except ValueError:
        addresses = await resolver(parsed.host, port)
    if not addresses:
        raise socket.gaierror(f"{parsed.host} resolves to no address")
    if not allow_private:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise DestinationRefused(
                f"{parsed.host} resolves to {refused[0]}, a loopback, private or link-local "
                "address; set GD_WEBHOOKS_ALLOW_PRIVATE=1 to allow it"
            )
    address = addresses[0]
    name = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    is_default_port = port == (443 if parsed.scheme == "https" else 80)
    return Destination(
        connect_url=parsed.copy_with(host=address, port=port),
        host=parsed.host,
        host_header=name if is_default_port else f"{name}:{port}",
        address=address,
    )
