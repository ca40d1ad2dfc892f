"""The simulator refuses what Orange refuses, with Orange's answers only, over loopback.

These tests speak raw HTTP to the served simulator with httpx, so they check the wire (the
statuses, the bodies, the field rules), not the plugin's reading of it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from gated_delivery_orange_money import (
    OrangeMoney,
    OrangeMoneySettings,
    OrangeMoneySimulator,
    OrangeMoneyUnavailable,
)
from gated_delivery_orange_money.testing import CollectingDeliverer, ServedSimulator

from .conftest import CLIENT_ID, CLIENT_SECRET, MERCHANT_KEY

JSON = {"accept": "application/json"}
BASIC = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
WEBPAY = "/orange-money-webpay/dev/v1"
GATEWAY_KEYS = {"code", "message", "description"}


@pytest_asyncio.fixture
async def om_http(
    om_served: ServedSimulator, om_simulator: OrangeMoneySimulator
) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on the simulator's API root; sends ``Accept`` unless told not to."""
    async with httpx.AsyncClient(base_url=om_served.base_url, headers=JSON, timeout=10) as http:
        yield http


async def bearer(http: httpx.AsyncClient) -> dict[str, str]:
    response = await http.post(
        "/oauth/v3/token",
        headers={"authorization": f"Basic {BASIC}"},
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


def init_body(**changes: Any) -> dict[str, Any]:
    order_id = secrets.token_hex(8)
    body: dict[str, Any] = {
        "merchant_key": MERCHANT_KEY,
        "currency": "OUV",
        "order_id": order_id,
        "amount": 2500,
        "return_url": f"http://shop.example/return?o={order_id}",
        "cancel_url": f"http://shop.example/return?o={order_id}&cancelled=1",
        "notif_url": f"http://shop.example/notify?o={order_id}",
        "lang": "fr",
        "reference": "Boutique test",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def assert_gateway_error(response: httpx.Response, status: int, code: int | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == GATEWAY_KEYS  # Orange's error shape, nothing else
    if code is None:  # a refused request: Orange documents 400 with codes 20-28
        assert 20 <= body["code"] <= 28
    else:
        assert body["code"] == code


async def open_session(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    body = init_body(**changes)
    response = await http.post(f"{WEBPAY}/webpayment", headers=await bearer(http), json=body)
    assert response.status_code == 201, response.text
    return {"request": body, "answer": response.json()}


async def status_of(http: httpx.AsyncClient, opened: dict[str, Any]) -> httpx.Response:
    request, answer = opened["request"], opened["answer"]
    return await http.post(
        f"{WEBPAY}/transactionstatus",
        headers=await bearer(http),
        json={
            "order_id": request["order_id"],
            "amount": request["amount"],
            "pay_token": answer["pay_token"],
        },
    )


# --- the gateway: Accept, credentials, paths, rate limit


async def test_without_accept_json_the_gateway_answers_406_and_no_invented_body(
    om_served: ServedSimulator, om_simulator: OrangeMoneySimulator
) -> None:
    async with httpx.AsyncClient(base_url=om_served.base_url, timeout=10) as http:
        response = await http.post(
            "/oauth/v3/token",
            headers={"authorization": f"Basic {BASIC}", "accept": "*/*"},
            data={"grant_type": "client_credentials"},
        )
    assert response.status_code == 406
    assert response.content == b""


@pytest.mark.parametrize(
    ("headers", "data", "status", "code"),
    [
        ({}, {"grant_type": "client_credentials"}, 401, 40),
        ({"authorization": "Basic"}, {"grant_type": "client_credentials"}, 401, 40),
        (
            {"authorization": "Basic " + base64.b64encode(b"om-test-client:nope").decode()},
            {"grant_type": "client_credentials"},
            401,
            41,
        ),
        ({"authorization": "Basic not-base64!"}, {"grant_type": "client_credentials"}, 401, 41),
        ({"authorization": f"Basic {BASIC}"}, {"grant_type": "password"}, 400, None),
    ],
    ids=["no-header", "empty", "wrong-secret", "garbled", "wrong-grant"],
)
async def test_the_token_endpoint_refuses_bad_credentials_and_grants(
    headers: dict[str, str],
    data: dict[str, str],
    status: int,
    code: int | None,
    om_http: httpx.AsyncClient,
) -> None:
    response = await om_http.post("/oauth/v3/token", headers=headers, data=data)
    assert_gateway_error(response, status, code)


async def test_the_token_endpoint_reads_a_form_not_json(om_http: httpx.AsyncClient) -> None:
    response = await om_http.post(
        "/oauth/v3/token",
        headers={"authorization": f"Basic {BASIC}"},
        json={"grant_type": "client_credentials"},
    )
    assert_gateway_error(response, 400)
    ok = await om_http.post(
        "/oauth/v3/token",
        headers={"authorization": f"Basic {BASIC}"},
        data={"grant_type": "client_credentials"},
    )
    token = ok.json()
    assert set(token) == {"token_type", "access_token", "expires_in"}
    assert (token["token_type"], token["expires_in"]) == ("Bearer", "3600")


@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, 40), ("Bearer", 40), ("Basic " + BASIC, 40), ("Bearer not-a-token", 41)],
)
async def test_api_calls_need_a_bearer_token_orange_gave(
    authorization: str | None, code: int, om_http: httpx.AsyncClient
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = await om_http.post(f"{WEBPAY}/webpayment", headers=headers, json=init_body())
    assert_gateway_error(response, 401, code)


async def test_an_expired_token_is_401_code_42(
    om_http: httpx.AsyncClient, om_simulator: OrangeMoneySimulator
) -> None:
    headers = await bearer(om_http)
    om_simulator.expire_tokens()
    response = await om_http.post(f"{WEBPAY}/webpayment", headers=headers, json=init_body())
    assert_gateway_error(response, 401, 42)
    assert response.json()["message"] == "Expired credentials"


@pytest.mark.parametrize(
    "path",
    [
        "/oauth/v2/token",  # old code's path; Orange says v3
        "/orange-money-webpay/ci/v1/webpayment",  # another country than the account's
        "/orange-money-webpay/v1/webpayment",  # no country segment
    ],
)
async def test_unknown_paths_are_404_code_60(path: str, om_http: httpx.AsyncClient) -> None:
    response = await om_http.post(path, headers=await bearer(om_http), json=init_body())
    assert_gateway_error(response, 404, 60)


async def test_the_token_endpoint_is_rate_limited_and_the_plugin_sees_unavailable(
    om_settings: OrangeMoneySettings,
) -> None:
    simulator = OrangeMoneySimulator(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        merchant_key=MERCHANT_KEY,
        deliver=CollectingDeliverer(),
        token_requests_per_minute=2,
    )
    with ServedSimulator(simulator) as served:
        settings = om_settings.model_copy(update={"api_url": served.base_url})
        async with httpx.AsyncClient(base_url=served.base_url, headers=JSON, timeout=10) as http:
            for _ in range(2):
                await bearer(http)
            refused = await http.post(
                "/oauth/v3/token",
                headers={"authorization": f"Basic {BASIC}"},
                data={"grant_type": "client_credentials"},
            )
        assert_gateway_error(refused, 429, 53)
        with pytest.raises(OrangeMoneyUnavailable) as info:  # retried later, with backoff
            await OrangeMoney(settings).client.tokens.get()
        assert (info.value.code, info.value.http_status) == ("53", 429)


# --- webpayment: the documented field rules


@pytest.mark.parametrize(
    "changes",
    [
        {"merchant_key": "ffffffff"},
        {"merchant_key": ...},
        {"currency": "XOF"},  # the dev sandbox takes OUV only
        {"amount": "2500"},
        {"amount": 2500.0},
        {"amount": True},
        {"amount": 0},
        {"amount": ...},
        {"order_id": "a" * 31},
        {"order_id": 12345},
        {"order_id": ""},
        {"return_url": "http://shop.example/" + "r" * 110},
        {"notif_url": "/notify?o=1"},  # Orange cannot call a relative URL
        {"cancel_url": ...},
        {"lang": "es"},
        {"lang": ...},
        {"reference": "r" * 31},
        {"reference": 7},
    ],
    ids=lambda c: "-".join(f"{k}={str(v)[:12]}" for k, v in c.items()),
)
async def test_webpayment_refuses_what_orange_refuses(
    changes: dict[str, Any], om_http: httpx.AsyncClient, om_simulator: OrangeMoneySimulator
) -> None:
    body = init_body(**changes)
    response = await om_http.post(f"{WEBPAY}/webpayment", headers=await bearer(om_http), json=body)
    assert_gateway_error(response, 400)
    assert body.get("order_id") not in om_simulator.sessions


async def test_webpayment_takes_the_documented_body_once_per_order_id(
    om_http: httpx.AsyncClient,
) -> None:
    opened = await open_session(om_http, reference=...)  # reference is optional
    answer = opened["answer"]
    assert set(answer) == {"status", "message", "pay_token", "payment_url", "notif_token"}
    assert (answer["status"], answer["message"]) == (201, "OK")
    assert len(answer["pay_token"]) == 64
    assert len(answer["notif_token"]) == 32
    again = await om_http.post(
        f"{WEBPAY}/webpayment", headers=await bearer(om_http), json=opened["request"]
    )
    assert_gateway_error(again, 400)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"merchant_key=1a2b3c4d&amount=2500", "application/x-www-form-urlencoded"),
        (b'{"amount": 2500', "application/json"),
        (b"[1, 2]", "application/json"),
    ],
    ids=["form", "broken-json", "not-an-object"],
)
async def test_webpayment_reads_only_a_json_object(
    content: bytes, content_type: str, om_http: httpx.AsyncClient
) -> None:
    headers = {**await bearer(om_http), "content-type": content_type}
    response = await om_http.post(f"{WEBPAY}/webpayment", headers=headers, content=content)
    assert_gateway_error(response, 400)


# --- transactionstatus: INITIATED, PENDING, the result; no amount


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 2400},
        {"amount": "2500"},
        {"pay_token": "0" * 64},
        {"order_id": "unknown"},
        {"pay_token": None},
    ],
    ids=["other-amount", "amount-as-text", "wrong-pay-token", "unknown-order", "no-pay-token"],
)
async def test_status_needs_the_triple_of_the_init(
    change: dict[str, Any], om_http: httpx.AsyncClient
) -> None:
    opened = await open_session(om_http)
    body = {
        "order_id": opened["request"]["order_id"],
        "amount": 2500,
        "pay_token": opened["answer"]["pay_token"],
        **change,
    }
    response = await om_http.post(
        f"{WEBPAY}/transactionstatus", headers=await bearer(om_http), json=body
    )
    assert_gateway_error(response, 400)


async def test_status_goes_initiated_then_pending_then_the_result_with_no_amount(
    om_http: httpx.AsyncClient,
    om_simulator: OrangeMoneySimulator,
    om_deliverer: CollectingDeliverer,
) -> None:
    opened = await open_session(om_http)
    order_id = opened["request"]["order_id"]
    first = await status_of(om_http, opened)
    assert first.status_code == 201
    assert first.json() == {"status": "INITIATED", "order_id": order_id}  # no txnid yet
    # a long processing: the test, not the clock, ends it
    await om_http.post("/control", data={"processing_ms": "60000"})
    paid = await om_http.post(opened["answer"]["payment_url"], data={"choice": "pay"})
    assert paid.status_code == 303
    assert (await status_of(om_http, opened)).json() == {"status": "PENDING", "order_id": order_id}
    assert om_deliverer.pending() == 0  # Orange notifies the result, not the processing
    again = await om_http.post(opened["answer"]["payment_url"], data={"choice": "pay"})
    assert again.status_code == 409  # confirmed once
    settled = await om_http.post(f"/control/{order_id}", data={"outcome": "SUCCESS"})
    assert settled.json()["sent"] == 1
    final = (await status_of(om_http, opened)).json()
    assert set(final) == {"status", "order_id", "txnid"}  # Orange's answer: no amount
    assert (final["status"], final["txnid"]) == ("SUCCESS", settled.json()["txnid"])
    await asyncio.sleep(0.1)  # the page's processing gave up: nothing more is sent
    assert len(om_deliverer.take()) == 1


@pytest.mark.parametrize(("choice", "result"), [("pay", "SUCCESS"), ("refuse", "FAILED")])
async def test_the_page_processes_then_notifies_the_result(
    choice: str,
    result: str,
    om_http: httpx.AsyncClient,
    om_simulator: OrangeMoneySimulator,
    om_deliverer: CollectingDeliverer,
) -> None:
    opened = await open_session(om_http)
    order_id = opened["request"]["order_id"]
    back = await om_http.post(opened["answer"]["payment_url"], data={"choice": choice})
    assert back.headers["location"] == opened["request"]["return_url"]
    for _ in range(500):  # processing ends on its own (50 ms in these tests): bounded wait
        if om_deliverer.pending():
            break
        await asyncio.sleep(0.01)
    (notice,) = om_deliverer.take()
    assert notice.url == opened["request"]["notif_url"]
    answer = (await status_of(om_http, opened)).json()
    assert answer["status"] == result
    sent = json.loads(notice.body)
    assert set(sent) == {"status", "notif_token", "txnid"}  # Orange's notification body
    assert (sent["status"], sent["txnid"]) == (result, answer["txnid"])
    assert sent["notif_token"] == om_simulator.sessions[order_id].notif_token


async def test_control_holds_pending_notifies_results_only_and_refuses_unknown_outcomes(
    om_http: httpx.AsyncClient, om_simulator: OrangeMoneySimulator
) -> None:
    opened = await open_session(om_http)
    order_id = opened["request"]["order_id"]
    held = await om_http.post(f"/control/{order_id}", data={"outcome": "PENDING"})
    assert held.json() == {"order_id": order_id, "status": "PENDING", "txnid": None, "sent": 0}
    expired = await om_http.post(f"/control/{order_id}", data={"outcome": "EXPIRED"})
    assert expired.json()["sent"] == 0  # Orange notifies SUCCESS and FAILED only
    held = await om_http.post(f"/control/{order_id}", data={"outcome": "PENDING"})
    refused = await om_http.post(f"/control/{order_id}", data={"outcome": "CANCELLED"})
    assert refused.status_code == 400
    assert om_simulator.sessions[order_id].status == "PENDING"
