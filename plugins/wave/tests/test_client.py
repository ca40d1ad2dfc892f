"""Wave's error answers become typed errors; odd shapes are read defensively. Answers that
the simulator never gives (429, broken JSON, other error shapes) come from ``MockTransport``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gated_delivery_wave import (
    WaveAuthError,
    WaveClient,
    WaveError,
    WaveRefundRefused,
    WaveRequestInvalid,
    WaveSettings,
    WaveUnavailable,
)
from pydantic import SecretStr

from .conftest import API_KEY, WEBHOOK_SECRET


def client(status: int, body: Any = None, *, content: bytes | None = None) -> WaveClient:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        if content is not None:
            return httpx.Response(status, content=content)
        return httpx.Response(status, json=body)

    settings = WaveSettings(
        api_key=SecretStr(API_KEY), webhook_secret=SecretStr(WEBHOOK_SECRET), _env_file=None
    )
    return WaveClient(settings, transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (401, {"code": "api-key-revoked", "message": "Revoked."}, WaveAuthError, "api-key-revoked"),
        (
            403,
            {"code": "unauthorized-wallet", "message": "No."},
            WaveAuthError,
            "unauthorized-wallet",
        ),
        (
            400,
            {
                "code": "request-validation-error",
                "message": "Bad.",
                "details": [{"loc": ["body", "amount"], "msg": "x"}],
            },
            WaveRequestInvalid,
            "request-validation-error",
        ),
        (
            409,
            {"code": "checkout-refund-failed", "message": "No."},
            WaveRefundRefused,
            "checkout-refund-failed",
        ),
        (
            400,
            {"code": "checkout-refund-failed", "message": "No."},
            WaveRefundRefused,
            "checkout-refund-failed",
        ),
        (
            404,
            {"code": "checkout-session-not-found", "message": "?"},
            WaveError,
            "checkout-session-not-found",
        ),
        (429, {"message": "slow down"}, WaveUnavailable, "429"),
        (
            503,
            {"code": "service-unavailable", "message": "Later."},
            WaveUnavailable,
            "service-unavailable",
        ),
        (
            500,
            {"error": {"code": "internal-server-error", "message": "Oops."}},
            WaveUnavailable,
            "internal-server-error",
        ),
        (
            400,
            {"error_code": "odd-shape", "message": "Seen once."},
            WaveRequestInvalid,
            "odd-shape",
        ),
    ],
)
async def test_errors_are_typed(status: int, body: Any, error: type[WaveError], code: str) -> None:
    with pytest.raises(error) as info:
        await client(status, body).get_session("cos-1")
    assert type(info.value) is error
    assert (info.value.code, info.value.http_status) == (code, status)
    assert API_KEY not in str(info.value)


async def test_a_non_json_answer_is_a_bad_response() -> None:
    with pytest.raises(WaveError, match="not a JSON object") as info:
        await client(200, content=b"<html>proxy</html>").get_session("cos-1")
    assert info.value.code == "bad_response"


async def test_a_search_without_a_result_list_is_a_bad_response() -> None:
    with pytest.raises(WaveError, match="no result list"):
        await client(200, {"sessions": []}).search_sessions("ref")


async def test_expire_and_refund_take_an_empty_200() -> None:
    await client(200, content=b"").expire_session("cos-1")
    await client(200, content=b"").refund_session("cos-1")
