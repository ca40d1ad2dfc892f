"""The simulator speaks Wave's API as the protocol notes describe it: shapes, error bodies,
expiry and refund rules. Raw httpx calls, no provider code in between."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gated_delivery_wave import WaveSimulator, signature
from gated_delivery_wave.testing import CollectingDeliverer, ServedSimulator

from .conftest import API_KEY, WEBHOOK_SECRET

GOOD = {
    "amount": "2500",
    "currency": "XOF",
    "client_reference": "ref-1",
    "success_url": "https://shop.example/ok",
    "error_url": "https://shop.example/ko",
}


@pytest.fixture
def api(wave_served: ServedSimulator, wave_simulator: WaveSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=wave_served.base_url,
        headers={"authorization": f"Bearer {API_KEY}"},
        timeout=10,
    ) as client:
        yield client


def create(api: httpx.Client, **changes: Any) -> dict[str, Any]:
    response = api.post("/v1/checkout/sessions", json=GOOD | changes)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_answers_the_session_object(api: httpx.Client) -> None:
    session = create(api)
    assert session["id"].startswith("cos-")
    assert (session["amount"], session["currency"]) == ("2500", "XOF")
    assert (session["checkout_status"], session["payment_status"]) == ("open", "processing")
    assert session["wave_launch_url"].endswith(f"/c/{session['id']}")
    assert session["last_payment_error"] is None
    assert "transaction_id" not in session
    assert "when_completed" not in session
    assert session["when_expires"] > session["when_created"]
    assert api.get(f"/v1/checkout/sessions/{session['id']}").json() == session


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"amount": 2500}, "amount"),
        ({"amount": "2500.00"}, "amount"),  # no decimals for XOF
        ({"amount": "02500"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"currency": "EUR"}, "currency"),
        ({"success_url": "http://shop.example/ok"}, "success_url"),
        ({"error_url": "not a url"}, "error_url"),
        ({"client_reference": "x" * 256}, "client_reference"),
        ({"restrict_payer_mobile": "771234567"}, "restrict_payer_mobile"),
        ({"metadata": {"order": "1"}}, "metadata"),
    ],
)
def test_create_validation_errors_have_wave_shape(
    api: httpx.Client, changes: dict[str, Any], loc: str
) -> None:
    response = api.post("/v1/checkout/sessions", json=GOOD | changes)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "request-validation-error"
    assert ["body", loc] in [d["loc"] for d in body["details"]]


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "missing-auth-header"),
        ("Basic abc", "invalid-auth"),
        ("Bearer nope", "no-matching-api-key"),
    ],
)
def test_bad_keys_are_401(
    wave_served: ServedSimulator, authorization: str | None, code: str
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = httpx.get(f"{wave_served.base_url}/v1/checkout/sessions/cos-x", headers=headers)
    assert (response.status_code, response.json()["code"]) == (401, code)


def test_unknown_session_and_transaction_are_404(api: httpx.Client) -> None:
    for path in ("/v1/checkout/sessions/cos-none", "/v1/checkout/sessions?transaction_id=T1"):
        response = api.get(path)
        assert (response.status_code, response.json()["code"]) == (
            404,
            "checkout-session-not-found",
        )


def test_search_lists_every_session_of_a_reference(api: httpx.Client) -> None:
    first, second = create(api, client_reference="dup-ref"), create(api, client_reference="dup-ref")
    found = api.get("/v1/checkout/sessions/search", params={"client_reference": "dup-ref"})
    assert {s["id"] for s in found.json()["result"]} == {first["id"], second["id"]}


def test_expire_only_an_open_session(api: httpx.Client, wave_simulator: WaveSimulator) -> None:
    session = create(api)
    expired = api.post(f"/v1/checkout/sessions/{session['id']}/expire")
    assert (expired.status_code, expired.content) == (200, b"")
    after = api.get(f"/v1/checkout/sessions/{session['id']}").json()
    assert (after["checkout_status"], after["payment_status"]) == ("expired", "cancelled")
    assert "when_completed" in after
    assert api.post(f"/v1/checkout/sessions/{session['id']}/expire").status_code == 200
    paid = create(api)
    wave_simulator.settle(paid["id"], "succeeded")
    assert api.post(f"/v1/checkout/sessions/{paid['id']}/expire").status_code == 409


def test_refund_only_a_succeeded_session_and_never_twice(
    api: httpx.Client, wave_simulator: WaveSimulator
) -> None:
    session = create(api)
    refused = api.post(f"/v1/checkout/sessions/{session['id']}/refund")
    assert (refused.status_code, refused.json()["code"]) == (400, "checkout-refund-failed")
    wave_simulator.settle(session["id"], "succeeded")
    before = wave_simulator.counters.refunds
    for _ in range(2):
        assert api.post(f"/v1/checkout/sessions/{session['id']}/refund").status_code == 200
    assert wave_simulator.counters.refunds == before + 1
    by_txn = api.get(
        "/v1/checkout/sessions",
        params={"transaction_id": wave_simulator.sessions[session["id"]].transaction_id},
    )
    assert by_txn.json()["id"] == session["id"]


def test_a_session_expires_by_itself_after_its_lifetime() -> None:
    now = [1_000_000.0]
    simulator = WaveSimulator(
        api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, webhook_url="", clock=lambda: now[0]
    )
    with (
        ServedSimulator(simulator) as served,
        httpx.Client(
            base_url=served.base_url, headers={"authorization": f"Bearer {API_KEY}"}
        ) as api,
    ):
        session = create(api)
        now[0] += 30 * 60
        assert (
            api.get(f"/v1/checkout/sessions/{session['id']}").json()["checkout_status"] == "expired"
        )


def test_webhooks_are_signed_over_t_and_the_body_and_sent_to_the_registered_url(
    api: httpx.Client, wave_simulator: WaveSimulator, wave_deliverer: CollectingDeliverer
) -> None:
    session = create(api)
    copies = api.post(f"/control/{session['id']}", data={"outcome": "succeeded", "copies": "2"})
    assert copies.json()["sent"] == 2
    notices = wave_deliverer.take()
    assert len(notices) == 2
    assert notices[0].body == notices[1].body  # one event, retried
    notice = notices[0]
    assert notice.url == wave_simulator.webhook_url
    stamp = signature.verify(
        WEBHOOK_SECRET.encode(),
        notice.headers["wave-signature"],
        notice.body,
        now=notice_time(notice),
    )
    assert stamp == notice_time(notice)


def notice_time(notice: Any) -> int:
    return int(notice.headers["wave-signature"].split(",")[0][2:])


def test_an_early_webhook_leaves_before_the_payment_is_final(
    api: httpx.Client, wave_simulator: WaveSimulator, wave_deliverer: CollectingDeliverer
) -> None:
    session = create(api)
    api.post("/control", data={"early_webhook": "1"})
    with httpx.Client(timeout=10) as browser:
        browser.post(session["wave_launch_url"], data={"choice": "pay"})
    for _ in range(500):
        if wave_deliverer.pending():
            break
        time.sleep(0.01)  # the page sends its webhook after redirecting: a bounded wait
    (notice,) = wave_deliverer.take()
    event = json.loads(notice.body)
    assert event["type"] == "checkout.session.completed"
    assert event["data"]["checkout_status"] == "open"  # what a GET said when it left
