"""The simulator answers like the Checkout API v2 (simulator.py), over loopback."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import API_KEY, SITE_ID, SimulatorServer


@pytest.fixture
def api(cinetpay_server: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cinetpay_server.api_url, timeout=10) as client:
        yield client


def init_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apikey": API_KEY,
        "site_id": SITE_ID,
        "transaction_id": "T-" + secrets.token_hex(8),
        "amount": 1500,
        "currency": "XOF",
        "description": "Ebook purchase",
        "notify_url": "https://shop.example.org/notify",
        "return_url": "https://shop.example.org/return",
        "channels": "ALL",
        "metadata": "order-17",
    }
    return body | changes


def test_init_answers_201_with_token_and_url(api: httpx.Client) -> None:
    answer = api.post("/v2/payment", json=init_body()).json()
    assert (answer["code"], answer["message"]) == ("201", "CREATED")
    token = answer["data"]["payment_token"]
    assert answer["data"]["payment_url"] == f"{api.base_url}payment/{token}"
    assert answer["api_response_id"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"apikey": "wrong-key-123"}, "609"),
        ({"site_id": "1"}, "613"),
        ({"description": ""}, "608"),
        ({"amount": "1500"}, "608"),
        ({"amount": 1503}, "608"),
        ({"currency": "EUR"}, "608"),
        ({"channels": "MOBILE_MONEY,CREDIT_CARD"}, "608"),
        ({"amount": 50}, "608"),
        ({"description": "Guide #1"}, "608"),
        ({"description": "kit_complet"}, "608"),
        ({"transaction_id": "T" * 26}, "608"),
        ({"transaction_id": "T_1"}, "608"),
        ({"channels": "CREDIT_CARD"}, "608"),
    ],
)
def test_init_refusals_have_cinetpays_code_and_no_data(
    api: httpx.Client, changes: dict[str, Any], code: str
) -> None:
    answer = api.post("/v2/payment", json=init_body(**changes)).json()
    assert answer["code"] == code
    assert "data" not in answer


def test_a_reused_transaction_id_is_refused(api: httpx.Client) -> None:
    body = init_body()
    assert api.post("/v2/payment", json=body).json()["code"] == "201"
    assert api.post("/v2/payment", json=body).json()["code"] == "608"


def test_no_user_agent_is_1010_and_a_form_body_is_403(api: httpx.Client) -> None:
    blocked = api.post("/v2/payment", json=init_body(), headers={"user-agent": ""})
    assert blocked.json()["code"] == "1010"
    as_form = api.post("/v2/payment", data={k: str(v) for k, v in init_body().items()})
    assert as_form.json()["code"] == "403"


def test_check_of_a_waiting_payment_by_id_or_token(api: httpx.Client) -> None:
    body = init_body()
    token = api.post("/v2/payment", json=body).json()["data"]["payment_token"]
    credentials = {"apikey": API_KEY, "site_id": SITE_ID}
    by_id = api.post(
        "/v2/payment/check", json={**credentials, "transaction_id": body["transaction_id"]}
    ).json()
    by_token = api.post("/v2/payment/check", json={**credentials, "token": token}).json()
    assert by_id["code"] == by_token["code"] == "662"
    data = by_id["data"]
    assert (data["status"], data["amount"], data["currency"]) == (
        "WAITING_FOR_CUSTOMER",
        "1500",
        "XOF",
    )
    assert data["metadata"] == "order-17"


def test_check_after_refusal_looks_like_the_official_example(api: httpx.Client) -> None:
    body = init_body()
    api.post("/v2/payment", json=body)
    settled = api.post(
        f"/control/{body['transaction_id']}",
        data={"outcome": "REFUSED", "code": "627", "notify": "0"},
    )
    assert settled.status_code == 200
    answer = api.post(
        "/v2/payment/check",
        json={"apikey": API_KEY, "site_id": SITE_ID, "transaction_id": body["transaction_id"]},
    ).json()
    assert (answer["code"], answer["message"]) == ("627", "TRANSACTION_CANCEL")
    assert answer["data"]["status"] == "REFUSED"
    assert answer["data"]["operator_id"] is None
    assert answer["data"]["payment_date"] == " "


def test_control_refuses_unknown_outcomes_and_transactions(api: httpx.Client) -> None:
    body = init_body()
    api.post("/v2/payment", json=body)
    assert (
        api.post(f"/control/{body['transaction_id']}", data={"outcome": "MAYBE"}).status_code == 400
    )
    assert api.post("/control/nope", data={"outcome": "ACCEPTED"}).status_code == 404


CARD_FIELDS = {
    "customer_name": "Ndiaye",
    "customer_surname": "Awa",
    "customer_email": "awa@example.org",
    "customer_phone_number": "+221770000000",
    "customer_address": "12 rue Carnot",
    "customer_city": "Dakar",
    "customer_country": "SN",
    "customer_state": "Dakar",
    "customer_zip_code": "10200",
}


def test_the_card_channel_needs_every_customer_field(api: httpx.Client) -> None:
    for missing in CARD_FIELDS:
        fields = {name: value for name, value in CARD_FIELDS.items() if name != missing}
        answer = api.post("/v2/payment", json=init_body(channels="CREDIT_CARD", **fields)).json()
        assert answer["code"] == "608", missing
        assert missing in answer["description"]
        assert "data" not in answer
    whole = api.post("/v2/payment", json=init_body(channels="CREDIT_CARD", **CARD_FIELDS))
    assert whole.json()["code"] == "201"


def test_an_unknown_transaction_is_an_error_envelope_without_data(api: httpx.Client) -> None:
    answer = api.post(
        "/v2/payment/check",
        json={"apikey": API_KEY, "site_id": SITE_ID, "transaction_id": "T-unknown"},
    )
    assert answer.json()["code"] == "608"
    assert "data" not in answer.json()
