"""The HTTP client of Wave's Checkout API: its calls and the typed errors of its answers.

Every call sends ``Authorization: Bearer <WAVE_API_KEY>`` (DOC). Error bodies are
``{code, message, details?}`` (C2); other shapes were seen once, so they are read defensively
and only their code and a truncated message are kept. A request body is never logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx

from gated_delivery_wave import protocol, signature
from gated_delivery_wave.errors import (
    WaveAuthError,
    WaveError,
    WaveRefundRefused,
    WaveRequestInvalid,
    WaveUnavailable,
)
from gated_delivery_wave.settings import WaveSettings

log = logging.getLogger(__name__)

#: Wave publishes no figure: 10 s to connect, 30 s to answer.
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)
#: The code of a ``WaveUnavailable`` raised because Wave did not answer in time.
TIMEOUT: Final = "timeout"


class WaveClient:
    """Calls Wave's checkout session endpoints for one wallet (one API key).

    With ``WAVE_SIGNING_SECRET`` set (a key created with request signing), every request
    carries ``Wave-Signature: t=<now>,v1=<HMAC of t + the exact body bytes sent>``; a GET
    signs an empty body (C2).
    """

    def __init__(
        self,
        settings: WaveSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._timeout = timeout
        self._now = now

    def _headers(self, content: bytes) -> dict[str, str]:
        headers = {
            "authorization": f"Bearer {self.settings.secret('api_key')}",
            "accept": "application/json",
        }
        if content:
            headers["content-type"] = "application/json"
        secret = self.settings.secret("signing_secret")
        if secret:
            headers["wave-signature"] = signature.sign(secret.encode(), int(self._now()), content)
        return headers

    async def _call(
        self,
        method: str,
        path: str,
        during: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        # serialised here so that the bytes signed are the bytes sent
        content = json.dumps(dict(body), separators=(",", ":")).encode() if body else b""
        headers = self._headers(content)
        async with httpx.AsyncClient(
            base_url=self.settings.api_url, transport=self._transport, timeout=self._timeout
        ) as http:
            try:
                response = await http.request(
                    method, path, headers=headers, content=content, params=params
                )
            except httpx.TimeoutException as exc:
                raise WaveUnavailable(
                    TIMEOUT, f"Wave did not answer in time while {during} ({type(exc).__name__})"
                ) from exc
            except httpx.HTTPError as exc:
                raise WaveUnavailable(
                    "unreachable",
                    f"Wave could not be reached while {during} ({type(exc).__name__})",
                ) from exc
        if not response.is_success:
            raise error_from(response, during)
        return response

    async def create_session(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v1/checkout/sessions``: the new session. Never retried blindly by callers."""
        response = await self._call(
            "POST", protocol.SESSIONS_PATH, "creating a checkout session", body=body
        )
        return json_object(response, "the created session")

    async def get_session(self, session_id: str) -> dict[str, Any]:
        """``GET /v1/checkout/sessions/:id``: the session as Wave holds it now."""
        response = await self._call(
            "GET", protocol.session_path(session_id), "reading a checkout session"
        )
        return json_object(response, "the session")

    async def search_sessions(self, client_reference: str) -> list[dict[str, Any]]:
        """``GET .../search?client_reference=``: every session with that reference (C2:
        references are not unique at Wave, so this is a list)."""
        response = await self._call(
            "GET",
            protocol.SEARCH_PATH,
            "searching checkout sessions",
            params={"client_reference": client_reference},
        )
        result = json_object(response, "the search answer").get("result")
        if not isinstance(result, list):
            raise WaveError("bad_response", "the search answer has no result list", http_status=200)
        return [item for item in result if isinstance(item, dict)]

    async def expire_session(self, session_id: str) -> None:
        """``POST .../:id/expire``; 200 with an empty body (C2). A completed session is 409."""
        await self._call(
            "POST", protocol.session_path(session_id, "expire"), "expiring a checkout session"
        )

    async def refund_session(self, session_id: str) -> None:
        """``POST .../:id/refund``: the whole amount; 200 with an empty body is the result (C2:
        no refund webhook). Raises ``WaveRefundRefused`` when Wave says no."""
        await self._call(
            "POST", protocol.session_path(session_id, "refund"), "refunding a checkout session"
        )


def json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The answer's JSON object, or ``WaveError`` when it is not one."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise WaveError(
            "bad_response", f"{what} is not a JSON object", http_status=response.status_code
        )
    return data


def _code_and_message(response: httpx.Response) -> tuple[str, str]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        data = data["error"]  # a shape seen once: {"error": {...}}
    if not isinstance(data, dict):
        data = {}
    raw_code = data.get("code", data.get("error_code"))
    code = str(raw_code)[:80] if raw_code else str(response.status_code)
    message = str(data.get("message") or response.reason_phrase or "error")[:200]
    return code, message


def error_from(response: httpx.Response, during: str) -> WaveError:
    """The typed error for a Wave error answer (see the table in ``docs/providers/wave.md``)."""
    status = response.status_code
    code, message = _code_and_message(response)
    log.warning("wave answered %s (code %s: %s) while %s", status, code, message, during)
    if status >= httpx.codes.INTERNAL_SERVER_ERROR or status == httpx.codes.TOO_MANY_REQUESTS:
        return WaveUnavailable(code, message, http_status=status)
    if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        return WaveAuthError(
            code,
            f"{message} (check WAVE_API_KEY: made for this wallet, with Checkout ticked; "
            "and WAVE_SIGNING_SECRET if the key was made with request signing)",
            http_status=status,
        )
    if code == protocol.REFUND_FAILED:
        return WaveRefundRefused(code, message, http_status=status)
    if status == httpx.codes.BAD_REQUEST:
        return WaveRequestInvalid(code, message, http_status=status)
    return WaveError(code, message, http_status=status)
