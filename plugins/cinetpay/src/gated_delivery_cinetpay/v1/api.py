"""The current API's calls over httpx: log in, open a payment, read its status.

Every call but the login carries ``Authorization: Bearer``. An answer with code 1003
(EXPIRED_TOKEN) or 1002 (INVALID_TOKEN) means the request was refused before anything was
done: the token is renewed once and the call made again, once. The payment initialisation is
otherwise never retried (a timed-out one may have created the transaction); the status read is
retried on no answer and 5xx.

CinetPay's body ``code`` decides, not the HTTP status: which HTTP status comes with each error
code is undocumented (facts file, open question 6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

import httpx

from gated_delivery_cinetpay import httpclient
from gated_delivery_cinetpay.errors import CinetPayUnavailable, LoginRefused, PaymentRefused
from gated_delivery_cinetpay.settings import CinetPayV1Config
from gated_delivery_cinetpay.v1.tokens import TokenCache

DEFAULT_TIMEOUT: Final[httpx.Timeout] = httpx.Timeout(20.0, connect=5.0)
DEFAULT_CHECK_RETRY_DELAYS: Final[tuple[float, ...]] = (0.5, 2.0)
OK_CODE: Final = "200"
#: Codes that mean "this Bearer token is not good": renew once.
TOKEN_CODES: Final = frozenset({"1002", "1003"})
INVALID_CREDENTIALS: Final = "1005"
#: CinetPay's generic failure: nothing was decided, try again later.
OPERATION_ERROR: Final = "-1"


@dataclass(frozen=True)
class Opened:
    """A payment CinetPay created: where to send the buyer, and its ids and notify token."""

    payment_url: str
    payment_token: str
    transaction_id: str
    notify_token: str


@dataclass
class CinetPayApi:
    """A thin client of ``/v1/oauth/login``, ``/v1/payment`` and ``/v1/payment/{id}``."""

    config: CinetPayV1Config
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    check_retry_delays: Sequence[float] = DEFAULT_CHECK_RETRY_DELAYS
    #: tests may pass ``httpx.MockTransport`` for broken answers; None is the network
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    tokens: TokenCache = field(default_factory=TokenCache)

    def _client(self) -> httpx.AsyncClient:
        return httpclient.client(self.config.api_url, self.timeout, self.transport)

    async def open_payment(self, body: Mapping[str, Any]) -> Opened:
        """``POST /v1/payment`` (once, or twice after a token renewal); ``PaymentRefused``."""
        async with self._client() as client:
            try:
                response = await self._authorised(client, "POST", "/v1/payment", body)
            except httpx.TransportError as exc:
                raise CinetPayUnavailable(
                    type(exc).__name__, "no answer to the payment initialisation"
                ) from None
        envelope = httpclient.decoded(response)
        if envelope is None:
            if response.status_code >= 500:
                raise CinetPayUnavailable(str(response.status_code), "server error")
            raise PaymentRefused(f"http-{response.status_code}", "the answer is not JSON")
        code = _code(envelope)
        opened = _opened(envelope) if code == OK_CODE else None
        if opened is not None:
            return opened
        if response.status_code >= 500 or code == OPERATION_ERROR:
            raise CinetPayUnavailable(code or str(response.status_code), _words(envelope))
        raise PaymentRefused(code or f"http-{response.status_code}", _words(envelope))

    async def status(self, identifier: str) -> Mapping[str, Any]:
        """``GET /v1/payment/{identifier}``, retried on no answer and 5xx; the decoded body."""
        path = f"/v1/payment/{quote(identifier, safe='')}"
        async with self._client() as client:
            return await httpclient.read_retried(
                lambda: self._authorised(client, "GET", path),
                self.check_retry_delays,
                "status request",
            )

    async def login(self) -> None:
        """Log in now and cache the token (the credential check of ``gated-delivery check``)."""

        async with self._client() as client:

            async def login() -> str:
                return await self._login(client)

            await self.tokens.get(login)

    async def _authorised(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        async def login() -> str:
            return await self._login(client)

        token = await self.tokens.get(login)
        response = await self._send(client, method, path, token, body)
        if _token_refused(response):
            # renewed once; a second refusal is returned as it is, never looped on
            token = await self.tokens.renew(token, login)
            response = await self._send(client, method, path, token, body)
        return response

    @staticmethod
    async def _send(
        client: httpx.AsyncClient,
        method: str,
        path: str,
        token: str,
        body: Mapping[str, Any] | None,
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"}
        return await client.request(
            method, path, json=None if body is None else dict(body), headers=headers
        )

    async def _login(self, client: httpx.AsyncClient) -> str:
        credentials = {
            "api_key": self.config.api_key.get_secret_value(),
            "api_password": self.config.api_password.get_secret_value(),
        }
        try:
            response = await client.post("/v1/oauth/login", json=credentials)
        except httpx.TransportError as exc:
            raise CinetPayUnavailable(type(exc).__name__, "no answer to the login") from None
        envelope = httpclient.decoded(response) or {}
        token = envelope.get("access_token")
        if isinstance(token, str) and token:
            return token
        code = _code(envelope)
        if code == INVALID_CREDENTIALS:
            raise LoginRefused(
                code,
                "CinetPay refused CINETPAY_API_KEY / CINETPAY_API_PASSWORD "
                "(INVALID_CREDENTIALS); copy both again from the back office",
            )
        # anything else (5xx, a proxy page, an unknown code) may pass: try again later
        raise CinetPayUnavailable(code or f"http-{response.status_code}", "login failed")


def _token_refused(response: httpx.Response) -> bool:
    envelope = httpclient.decoded(response)
    return envelope is not None and _code(envelope) in TOKEN_CODES


def _opened(envelope: Mapping[str, Any]) -> Opened | None:
    values = {
        key: envelope.get(key)
        for key in ("payment_url", "payment_token", "transaction_id", "notify_token")
    }
    if not all(isinstance(value, str) and value for value in values.values()):
        return None
    if not str(values["payment_url"]).startswith(("https://", "http://")):
        return None
    return Opened(**{key: str(value) for key, value in values.items()})


def _code(envelope: Mapping[str, Any]) -> str:
    # the SDK reads codes as integers; compare them as text, whichever way they come
    return str(envelope.get("code", "")).strip()


def _words(envelope: Mapping[str, Any]) -> str:
    words = " ".join(str(envelope[key]) for key in ("status", "description") if envelope.get(key))
    return words[:200] or "refused"
