"""The HTTP client of Orange Money's API: the OAuth token it shares, its calls and errors.

Every call sends ``Accept: application/json`` (Orange's gateways answer 406 without it). The
client-credentials token is cached and shared by every request of one provider: the token
endpoint is rate limited, so concurrent requests wait for one refresh instead of each asking.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx
from pydantic import SecretStr

from gated_delivery_orange_money import protocol
from gated_delivery_orange_money.errors import (
    OrangeMoneyAccessError,
    OrangeMoneyAuthError,
    OrangeMoneyError,
    OrangeMoneyRequestInvalid,
    OrangeMoneyUnavailable,
)
from gated_delivery_orange_money.settings import OrangeMoneySettings

log = logging.getLogger(__name__)

#: Refresh this long before ``expires_in`` runs out (at most a tenth of the lifetime), so a
#: token never expires between our check and Orange's.
REFRESH_MARGIN_SECONDS: Final = 60
#: How long to trust a token whose ``expires_in`` is missing or unreadable; a wrong guess
#: costs one 401 and one refresh.
FALLBACK_LIFETIME_SECONDS: Final = 300
#: No Orange figure exists for these (open question); 10 s to connect, 30 s to answer.
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)

Clock = Callable[[], float]


def parse_expires_in(value: object) -> int | None:
    """Seconds from ``expires_in``, which Orange sends as a number or as a string ("3600")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            return int(text)
    return None


@dataclass(frozen=True)
class _Token:
    value: SecretStr
    refresh_at: float


class TokenCache:
    """One access token, shared by concurrent requests, refreshed one at a time.

    ``fetch`` asks the token endpoint and returns the token and its lifetime in seconds (None
    when unreadable). ``fetches`` counts how many times it was asked.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, int | None]]],
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _fresh(self) -> _Token | None:
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token
        return None

    async def get(self) -> str:
        """A valid token: the cached one, or a new one fetched by exactly one caller."""
        token = self._fresh()
        if token is None:
            async with self._lock:
                token = self._fresh() or await self._renew()
        return token.value.get_secret_value()

    async def refresh(self, rejected: str) -> str:
        """A new token after Orange refused ``rejected``; fetched once however many ask."""
        async with self._lock:
            token = self._fresh()
            if token is None or token.value.get_secret_value() == rejected:
                token = await self._renew()
        return token.value.get_secret_value()

    def forget(self) -> None:
        """Drop the cached token (the next request fetches a new one)."""
        self._token = None

    async def _renew(self) -> _Token:
        self.fetches += 1
        value, lifetime = await self._fetch()
        if lifetime is None:
            log.warning(
                "orange money token answer had no readable expires_in; trusting it for %s s",
                FALLBACK_LIFETIME_SECONDS,
            )
            lifetime = FALLBACK_LIFETIME_SECONDS
        margin = min(REFRESH_MARGIN_SECONDS, lifetime // 10)
        self._token = _Token(SecretStr(value), self._clock() + lifetime - margin)
        return self._token


class OrangeMoneyClient:
    """Calls Orange Money's token and WebPay endpoints for one account."""

    def __init__(
        self,
        settings: OrangeMoneySettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Clock = time.monotonic,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._timeout = timeout
        self.tokens = TokenCache(self._fetch_token, clock=clock)

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.settings.api_url,
            transport=self._transport,
            timeout=self._timeout,
            headers={"accept": "application/json"},
        )

    async def _send(
        self, http: httpx.AsyncClient, path: str, headers: Mapping[str, str], **kwargs: Any
    ) -> httpx.Response:
        try:
            return await http.post(path, headers=dict(headers), **kwargs)
        except httpx.TimeoutException as exc:
            raise OrangeMoneyUnavailable(
                "timeout", f"Orange Money did not answer in time ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise OrangeMoneyUnavailable(
                "unreachable", f"Orange Money could not be reached ({type(exc).__name__})"
            ) from exc

    async def _fetch_token(self) -> tuple[str, int | None]:
        settings = self.settings
        secret = settings.client_secret.get_secret_value() if settings.client_secret else ""
        basic = base64.b64encode(f"{settings.client_id}:{secret}".encode()).decode("ascii")
        async with self._http() as http:
            response = await self._send(
                http,
                protocol.TOKEN_PATH,
                {"authorization": f"Basic {basic}"},
                data={"grant_type": "client_credentials"},
            )
        if response.status_code != httpx.codes.OK:
            raise error_from(response, "getting an access token")
        data = json_object(response, "the token answer")
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise OrangeMoneyError(
                "bad_response",
                "the token answer has no access_token",
                http_status=response.status_code,
            )
        return token, parse_expires_in(data.get("expires_in"))

    async def webpay(self, call: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a WebPay call (``webpayment``, ``transactionstatus``); its JSON answer.

        A 401 gets one new token and one retry: the gateway refused the token before the API
        saw the request, so retrying cannot open a second payment session.
        """
        path = protocol.webpay_path(self.settings.country or "", call)
        async with self._http() as http:
            token = await self.tokens.get()
            response = await self._send(
                http, path, {"authorization": f"Bearer {token}"}, json=dict(body)
            )
            if response.status_code == httpx.codes.UNAUTHORIZED:
                # Orange documents code 42 (expired) for this; a revoked token may show as
                # 41, so any 401 earns one refresh, and a second 401 is an error
                log.info("orange money refused the access token on %s; refreshing it once", call)
                token = await self.tokens.refresh(token)
                response = await self._send(
                    http, path, {"authorization": f"Bearer {token}"}, json=dict(body)
                )
        if not response.is_success:
            raise error_from(response, call)
        return json_object(response, f"the {call} answer")


def json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The answer's JSON object, or ``OrangeMoneyError`` when it is not one."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise OrangeMoneyError(
            "bad_response", f"{what} is not a JSON object", http_status=response.status_code
        )
    return data


def error_from(response: httpx.Response, during: str) -> OrangeMoneyError:
    """The typed error for an Orange error answer ``{code, message, description}``.

    Only the code and the (truncated) message and description are kept and logged: never the
    request, which carries the merchant key and tokens.
    """
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    raw_code = data.get("code")
    code = str(raw_code) if raw_code is not None else str(status)
    message = str(data.get("message") or response.reason_phrase or "error")[:200]
    description = str(data.get("description") or "")[:300]
    log.warning("orange money answered %s (code %s: %s) while %s", status, code, message, during)
    kwargs: dict[str, Any] = {"http_status": status, "description": description}
    if status >= httpx.codes.INTERNAL_SERVER_ERROR or status == httpx.codes.TOO_MANY_REQUESTS:
        return OrangeMoneyUnavailable(code, message, **kwargs)
    if code == str(protocol.CODE_TOO_MANY_REQUESTS):
        return OrangeMoneyUnavailable(code, message, **kwargs)
    if status == httpx.codes.UNAUTHORIZED:
        return OrangeMoneyAuthError(
            code, f"{message} (check OM_CLIENT_ID and OM_CLIENT_SECRET)", **kwargs
        )
    if status in (httpx.codes.FORBIDDEN, httpx.codes.NOT_FOUND):
        return OrangeMoneyAccessError(
            code,
            f"{message} (check the application's WebPay subscription, OM_COUNTRY and OM_API_URL)",
            **kwargs,
        )
    if status == httpx.codes.BAD_REQUEST:
        return OrangeMoneyRequestInvalid(code, message, **kwargs)
    return OrangeMoneyError(code, message, **kwargs)
