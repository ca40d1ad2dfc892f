"""What both API clients share: one httpx client per call, retried reads, tolerant JSON."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cache
from typing import Any, Final

import certifi
import httpx

from gated_delivery_cinetpay._version import __version__
from gated_delivery_cinetpay.errors import CinetPayUnavailable

#: CinetPay blocks requests without a User-Agent (code 1010).
USER_AGENT: Final = f"gated-delivery-cinetpay/{__version__}"


@cache
def _tls() -> ssl.SSLContext:
    # loading the CA bundle is the slow part of a client: made once per process
    return ssl.create_default_context(cafile=certifi.where())


def client(
    api_url: str, timeout: httpx.Timeout, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """A client for one call: provider objects outlive event loops in tests and CLI commands."""
    return httpx.AsyncClient(
        base_url=api_url,
        timeout=timeout,
        transport=transport,
        verify=_tls(),
        headers={"user-agent": USER_AGENT, "accept": "application/json"},
        follow_redirects=False,
    )


async def read_retried(
    send: Callable[[], Awaitable[httpx.Response]], delays: Sequence[float], what: str
) -> Mapping[str, Any]:
    """The decoded answer of a read, tried again after each of ``delays`` on no answer or 5xx.

    Reading twice is harmless, so only reads are retried. Raises ``CinetPayUnavailable`` once
    the tries are spent, or for an answer that is not JSON (a proxy's error page, say): both
    mean "ask again later".
    """
    last = ("", "")
    for try_number in range(len(delays) + 1):
        if try_number:
            await asyncio.sleep(delays[try_number - 1])
        try:
            response = await send()
        except httpx.TransportError as exc:
            last = (type(exc).__name__, f"no answer to the {what}")
            continue
        if response.status_code >= 500:
            last = (str(response.status_code), f"server error on the {what}")
            continue
        envelope = decoded(response)
        if envelope is None:
            raise CinetPayUnavailable(
                f"http-{response.status_code}", f"the {what} answer is not JSON"
            )
        return envelope
    raise CinetPayUnavailable(last[0], f"{last[1]} ({len(delays) + 1} tries)")


def decoded(response: httpx.Response) -> Mapping[str, Any] | None:
    """The answer's JSON object, or None when it is not one."""
    try:
        value = response.json()
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None
