"""The v1 simulator answers like CinetPay's current API (v1/simulator.py), over loopback.

Every refusal carries CinetPay's code and status words ({code, status, description}); every
rule is the one CinetPay's SDK validates before sending.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gated_delivery.testing import serve

from ..conftest import V1_API_KEY, V1_API_PASSWORD, V1Server


@pytest.fixture
def api(v1_server: V1Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=v1_server.api_url, timeout=10) as client:
        yield client
    v1_server.simulator.token_lifetime_seconds = 86_400


def login(api: httpx.Client) -> dict[str, str]:
    answer = api.post(
        "/v1/oauth/login", json={"api_key": V1_API_KEY, "api_password": V1_API_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


def init_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "currency": "XOF",
        "merchant_transaction_id": "M" + secrets.token_hex(10),
        "amount": 15000,
        "lang": "fr",
        "designation": "Guide de l'audit associatif",
        "client_email": "awa@example.org",
        "client_first_name": "Awa",
        "client_last_name": "Ndiaye",
        "success_url": "https://shop.example.org/payments/cinetpay/return?order=o",
        "failed_url": "https://shop.example.org/payments/cinetpay/return?order=o&cancelled=1",
        "notify_url": "https://shop.example.org/payments/cinetpay/notify?order=o",
        "channel": "PUSH",
    }
    return {key: value for key, value in (body | changes).items() if value is not None}


def test_login_refuses_wrong_credentials_with_1005(api: httpx.Client) -> None:
    answer = api.post("/v1/oauth/login", json={"api_key": V1_API_KEY, "api_password": "nope-0"})
    assert answer.json() == {
        "code": 1005,
        "status": "INVALID_CREDENTIALS",
        "description": "bad credentials",
    }
    assert "access_token" not in answer.json()


def test_calls_without_a_good_token_are_refused(api: httpx.Client, v1_server: V1Server) -> None:
    assert api.post("/v1/payment", json=init_body()).json()["code"] == 1002
    bad = {"authorization": "Bearer forged.token.here"}
    assert api.get("/v1/payment/x", headers=bad).json()["status"] == "INVALID_TOKEN"
    headers = login(api)
    v1_server.simulator.expire_tokens()
    assert api.get("/v1/payment/x", headers=headers).json()["code"] == 1003


def test_the_token_is_a_jwt_whose_exp_is_its_lifetime(
    api: httpx.Client, v1_server: V1Server
) -> None:
    v1_server.simulator.token_lifetime_seconds = 120
    token = login(api)["authorization"].removeprefix("Bearer ")
    payload = token.split(".")[1]
    claims = json.loads(httpx.Response(200, content=_b64decode(payload)).text)
    assert 0 < claims["exp"] - v1_server.simulator._clock() <= 120


def _b64decode(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 99}, "amount"),
        ({"amount": 2_500_001}, "amount"),
        ({"amount": "15000"}, "amount"),
        ({"currency": "EUR"}, "currency"),
        ({"merchant_transaction_id": "M" * 31}, "merchant_transaction_id"),
        ({"lang": "wo"}, "lang"),
        ({"designation": ""}, "designation"),
        ({"client_email": "not-an-address"}, "client_email"),
        ({"client_first_name": "A"}, "client_first_name"),
        ({"client_last_name": None}, "client_last_name"),
        ({"notify_url": "https://shop.example.org/" + "n" * 100}, "notify_url"),
        ({"success_url": "ftp://shop.example.org/"}, "success_url"),
        ({"channel": "USSD"}, "channel"),
        ({"client_phone_number": "0707070707"}, "client_phone_number"),
    ],
)
def test_init_refuses_what_the_sdk_validation_refuses_with_1004(
    api: httpx.Client, changes: dict[str, Any], field: str
) -> None:
    answer = api.post("/v1/payment", json=init_body(**changes), headers=login(api))
    assert answer.status_code == 400
    assert (answer.json()["code"], answer.json()["status"]) == (1004, "INVALID_PARAMS")
    assert field in answer.json()["description"]


def test_a_reused_merchant_transaction_id_is_1200(api: httpx.Client) -> None:
    headers, body = login(api), init_body()
    assert api.post("/v1/payment", json=body, headers=headers).json()["code"] == 200
    again = api.post("/v1/payment", json=body, headers=headers).json()
    assert (again["code"], again["status"]) == (1200, "TRANSACTION_EXIST")


def test_init_answers_the_fields_the_sdk_reads(api: httpx.Client) -> None:
    body = init_body()
    answer = api.post("/v1/payment", json=body, headers=login(api)).json()
    assert set(answer) == {
        "code",
        "status",
        "payment_token",
        "notify_token",
        "transaction_id",
        "merchant_transaction_id",
        "payment_url",
        "details",
    }
    assert answer["merchant_transaction_id"] == body["merchant_transaction_id"]
    assert answer["details"]["status"] == "INITIATED"


def test_status_goes_initiated_pending_then_final_and_has_no_amount(
    api: httpx.Client, v1_server: V1Server
) -> None:
    headers, body = login(api), init_body()
    api.post("/v1/payment", json=body, headers=headers)
    merchant_id = body["merchant_transaction_id"]
    seen = [api.get(f"/v1/payment/{merchant_id}", headers=headers).json()]
    v1_server.simulator.settle(merchant_id, "PENDING")
    seen.append(api.get(f"/v1/payment/{merchant_id}", headers=headers).json())
    v1_server.simulator.settle(merchant_id, "SUCCESS")
    seen.append(api.get(f"/v1/payment/{merchant_id}", headers=headers).json())
    assert [(s["code"], s["status"]) for s in seen] == [
        (2001, "INITIATED"),
        (2002, "PENDING"),
        (100, "SUCCESS"),
    ]
    assert not {"amount", "currency"} & set(seen[-1])
    with pytest.raises(ValueError, match="already SUCCESS"):
        v1_server.simulator.settle(merchant_id, "FAILED")
    unknown = api.get("/v1/payment/NoSuch", headers=headers)
    assert (unknown.status_code, unknown.json()["status"]) == (404, "NOT_FOUND")


def test_the_page_sends_the_json_notification_to_the_notify_url(
    api: httpx.Client, v1_server: V1Server
) -> None:
    received: list[tuple[str, bytes]] = []

    async def notify(request: Request) -> PlainTextResponse:
        received.append((request.headers["content-type"], await request.body()))
        return PlainTextResponse("ok")

    receiver = Starlette(routes=[Route("/notify", notify, methods=["POST"])])
    with serve(receiver) as shop:
        body = init_body(notify_url=f"{shop}/notify")
        opened = api.post("/v1/payment", json=body, headers=login(api)).json()
        page = api.get(opened["payment_url"])
        assert "15000 XOF" in page.text
        assert not received  # the current API notifies on final statuses only
        api.post(opened["payment_url"], data={"action": "pay"})
    ((media, sent),) = received
    assert media == "application/json"
    notice = json.loads(sent)
    assert notice["notify_token"] == opened["notify_token"]
    assert notice["merchant_transaction_id"] == body["merchant_transaction_id"]
    assert notice["transaction_id"] == opened["transaction_id"]
    assert notice["user"]["email"] == "awa@example.org"
    assert "status" not in notice  # the notification carries no status: only the check says
