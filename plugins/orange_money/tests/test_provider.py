"""The provider and its client against the simulator over loopback (no database needed)."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from gated_delivery_orange_money import (
    OrangeMoney,
    OrangeMoneyAccessError,
    OrangeMoneyAuthError,
    OrangeMoneyError,
    OrangeMoneyRequestInvalid,
    OrangeMoneySettings,
    OrangeMoneySimulator,
    OrangeMoneyUnavailable,
    parse_expires_in,
)
from gated_delivery_orange_money.testing import OrangeMoneyControl
from pydantic import SecretStr

from gated_delivery.errors import NotificationRejected, ProviderError, ProviderUnavailable
from gated_delivery.money import Money
from gated_delivery.plugin_types import AttemptView, PaymentRequest, RawNotification, ReportedStatus
from gated_delivery.states import AttemptState

from .conftest import CLIENT_SECRET, MERCHANT_KEY

BASE = "http://shop.example"


def request(attempt_id: str, amount: Money | None = None, base: str = BASE) -> PaymentRequest:
    return PaymentRequest(
        attempt_id=attempt_id,
        order_id=f"order-{attempt_id}",
        amount=amount or Money(2500, "XOF"),
        description="Guide",
        buyer_name="Awa",
        buyer_email="awa@example.org",
        return_url=f"{base}/payments/orange-money/return?order=order-{attempt_id}",
        notify_url=f"{base}/payments/orange-money/notify?order=order-{attempt_id}",
        cancel_url=f"{base}/payments/orange-money/return?order=order-{attempt_id}&cancelled=1",
    )


def new_id() -> str:
    import secrets

    return secrets.token_urlsafe(16)


async def started(provider: OrangeMoney, amount: Money | None = None) -> AttemptView:
    req = request(new_id(), amount)
    start = await provider.start_payment(req)
    return AttemptView(
        attempt_id=req.attempt_id,
        order_id=req.order_id,
        provider=provider.name,
        state=AttemptState.PENDING,
        amount=req.amount,
        provider_ref=start.provider_ref,
        provider_data=dict(start.provider_data),
        created_at=datetime.now(UTC),
    )


def other_settings(settings: OrangeMoneySettings, **changes: object) -> OrangeMoneySettings:
    return settings.model_copy(update=changes)


async def test_start_sends_the_documented_fields_and_keeps_the_tokens(
    om_provider: OrangeMoney, om_simulator: OrangeMoneySimulator
) -> None:
    req = request(new_id())
    start = await om_provider.start_payment(req)
    session = om_simulator.sessions[req.attempt_id]
    assert (session.amount, session.currency, session.lang) == (2500, "OUV", "fr")
    assert session.reference == "Boutique test"
    assert session.notif_url == f"{req.notify_url}&tx={req.attempt_id}"
    assert start.redirect_url.endswith(f"/payment/{session.pay_token}")
    assert start.provider_data["pay_token"] == session.pay_token
    assert start.provider_data["notif_token"] == session.notif_token
    assert start.provider_ref is None


async def test_concurrent_starts_share_one_token_request(
    om_provider: OrangeMoney, gd_provider_control: OrangeMoneyControl
) -> None:
    before = (await gd_provider_control.counters())["token_requests"]
    # a slow gateway keeps the first token request open while the others arrive
    await gd_provider_control.control(delay_ms="200")
    starts = await asyncio.gather(*(om_provider.start_payment(request(new_id())) for _ in range(8)))
    assert len({s.redirect_url for s in starts}) == 8
    assert (await gd_provider_control.counters())["token_requests"] - before == 1
    assert om_provider.client.tokens.fetches == 1


async def test_concurrent_401s_share_one_refresh(
    om_provider: OrangeMoney, gd_provider_control: OrangeMoneyControl
) -> None:
    attempts = [await started(om_provider) for _ in range(4)]
    await gd_provider_control.control(expire_tokens="1", delay_ms="100")
    results = await asyncio.gather(*(om_provider.check_status(a) for a in attempts))
    assert {r.status for r in results} == {ReportedStatus.PENDING}
    assert om_provider.client.tokens.fetches == 2


async def test_the_token_is_reused_until_shortly_before_expires_in(
    om_settings: OrangeMoneySettings, om_simulator: OrangeMoneySimulator
) -> None:
    now = [1000.0]
    provider = OrangeMoney(om_settings, clock=lambda: now[0])
    attempt = await started(provider)
    await provider.check_status(attempt)
    assert provider.client.tokens.fetches == 1
    now[0] += om_simulator.token_lifetime_seconds - 61  # still inside the margin
    await provider.check_status(attempt)
    assert provider.client.tokens.fetches == 1
    now[0] += 2  # within 60 s of expires_in: refreshed before Orange refuses it
    await provider.check_status(attempt)
    assert provider.client.tokens.fetches == 2


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3600", 3600),
        (3600, 3600),
        ("7776000", 7776000),
        (" 60 ", 60),
        ("", None),
        ("3600.5", None),
        (3600.0, None),
        (True, None),
        (-5, None),
        (None, None),
        ("٣٦", None),
    ],
)
def test_expires_in_may_be_a_string_or_a_number(value: object, seconds: int | None) -> None:
    assert parse_expires_in(value) == seconds


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("INITIATED", ReportedStatus.PENDING),
        ("PENDING", ReportedStatus.PENDING),
        ("SUCCESS", ReportedStatus.SUCCEEDED),
        ("FAILED", ReportedStatus.FAILED),
        ("EXPIRED", ReportedStatus.EXPIRED),
        ("CANCELLED", ReportedStatus.PENDING),  # unknown to Orange's guide: never final
    ],
)
async def test_status_words_map_to_the_core(
    word: str, status: ReportedStatus, om_provider: OrangeMoney, om_simulator: OrangeMoneySimulator
) -> None:
    attempt = await started(om_provider)
    om_simulator.sessions[attempt.attempt_id].status = word
    result = await om_provider.check_status(attempt)
    assert result.status is status
    assert result.data["om_status"] == word
    if status is ReportedStatus.SUCCEEDED:
        assert result.amount == Money(2500, "XOF")


async def test_success_confirms_the_amount_asked_as_the_answer_has_none(
    om_provider: OrangeMoney, gd_provider_control: OrangeMoneyControl
) -> None:
    attempt = await started(om_provider, Money(2500, "XOF"))
    await gd_provider_control.control(f"/{attempt.attempt_id}", outcome="SUCCESS", notify="0")
    result = await om_provider.check_status(attempt)
    assert result.status is ReportedStatus.SUCCEEDED
    assert result.amount == Money(2500, "XOF")  # what the status call was made with
    assert result.data["amount_source"] == "status request"
    assert (result.provider_ref or "").startswith("MP")


@pytest.mark.parametrize(
    ("reported", "paid"),
    [
        (None, Money(2500, "XOF")),  # Orange's documented answer: the amount asked
        (2400, Money(2400, "XOF")),
        ("2400", Money(2400, "XOF")),
    ],
)
async def test_an_amount_in_the_answer_would_be_parsed_exactly(
    reported: object, paid: Money, om_provider: OrangeMoney
) -> None:
    attempt = await started(om_provider, Money(2500, "XOF"))
    assert om_provider.paid_amount(attempt, reported) == paid


@pytest.mark.parametrize("reported", [2400.0, True, "24,00", "2400.5"])
async def test_an_unreadable_amount_in_the_answer_is_an_error(
    reported: object, om_provider: OrangeMoney
) -> None:
    attempt = await started(om_provider, Money(2500, "XOF"))
    with pytest.raises(OrangeMoneyError, match="bad_response"):
        om_provider.paid_amount(attempt, reported)


@pytest.mark.parametrize(
    ("amount", "code"),
    [(Money(1250, "EUR"), "amount"), (Money(0, "XOF"), "amount")],
)
async def test_amounts_orange_cannot_take_are_refused_before_any_call(
    amount: Money, code: str, om_provider: OrangeMoney, gd_provider_control: OrangeMoneyControl
) -> None:
    before = await gd_provider_control.counters()
    with pytest.raises(OrangeMoneyRequestInvalid) as info:
        await om_provider.start_payment(request(new_id(), amount))
    assert info.value.code == code
    assert await gd_provider_control.counters() == before


async def test_production_takes_only_the_account_currency(
    om_settings: OrangeMoneySettings,
) -> None:
    provider = OrangeMoney(other_settings(om_settings, country="ci", currency="XOF"))
    with pytest.raises(OrangeMoneyRequestInvalid, match=r"takes XOF \(OM_CURRENCY\), not XAF"):
        await provider.start_payment(request(new_id(), Money(2500, "XAF")))


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (request("a" * 31), "order_id"),
        (request(new_id(), base="https://" + "b" * 60 + ".example"), "return_url"),
        # return_url fits, but notif_url also carries the attempt id (tx=)
        (request("x" * 30, base="https://" + "b" * 8 + ".example"), "notif_url"),
    ],
)
async def test_length_limits_are_checked_before_the_call(
    req: PaymentRequest,
    field: str,
    om_provider: OrangeMoney,
    gd_provider_control: OrangeMoneyControl,
) -> None:
    before = await gd_provider_control.counters()
    with pytest.raises(
        OrangeMoneyRequestInvalid, match=f"^orange-money answered field_too_long: {field}"
    ):
        await om_provider.start_payment(req)
    assert await gd_provider_control.counters() == before


async def test_refusals_are_typed_errors_with_orange_code_and_message(
    om_settings: OrangeMoneySettings, om_provider: OrangeMoney, om_simulator: OrangeMoneySimulator
) -> None:
    wrong_secret = OrangeMoney(other_settings(om_settings, client_secret=SecretStr("nope" * 8)))
    with pytest.raises(OrangeMoneyAuthError) as auth:
        await wrong_secret.start_payment(request(new_id()))
    assert (auth.value.code, auth.value.http_status) == ("41", 401)
    assert "OM_CLIENT_SECRET" in str(auth.value)

    wrong_country = OrangeMoney(other_settings(om_settings, country="ci"))
    with pytest.raises(OrangeMoneyAccessError) as access:
        await wrong_country.start_payment(request(new_id()))
    assert (access.value.code, access.value.provider_message[:18]) == ("60", "Resource not found")

    req = request(new_id())
    await om_provider.start_payment(req)
    with pytest.raises(OrangeMoneyRequestInvalid) as duplicate:
        await om_provider.start_payment(req)  # Orange wants a new order_id for every try
    assert duplicate.value.http_status == 400

    for error in (auth.value, access.value, duplicate.value):
        assert isinstance(error, ProviderError)
        for secret in (CLIENT_SECRET, MERCHANT_KEY, "nope" * 8):
            assert secret not in str(error)


async def test_5xx_and_unreachable_are_unavailable(
    om_provider: OrangeMoney,
    om_settings: OrangeMoneySettings,
    gd_provider_control: OrangeMoneyControl,
) -> None:
    attempt = await started(om_provider)
    await gd_provider_control.control(fail_next="1")
    with pytest.raises(OrangeMoneyUnavailable) as down:
        await om_provider.check_status(attempt)
    assert isinstance(down.value, ProviderUnavailable)
    assert (down.value.code, down.value.http_status) == ("5", 503)
    assert (await om_provider.check_status(attempt)).status is ReportedStatus.PENDING

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    nowhere = OrangeMoney(other_settings(om_settings, api_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(OrangeMoneyUnavailable) as unreachable:
        await nowhere.start_payment(request(new_id()))
    assert unreachable.value.code == "unreachable"


def raw(attempt: AttemptView, body: bytes, content_type: str, **query: str) -> RawNotification:
    return RawNotification(
        provider="orange-money",
        method="POST",
        headers={"content-type": content_type},
        query={"order": attempt.order_id, "tx": attempt.attempt_id, **query},
        body=body,
    )


async def test_a_form_encoded_notification_is_accepted(om_provider: OrangeMoney) -> None:
    attempt = await started(om_provider)
    fields = {
        "status": "SUCCESS",
        "notif_token": attempt.provider_data["notif_token"],
        "txnid": "MP1",
    }

    async def find(attempt_id: str) -> AttemptView | None:
        return attempt if attempt_id == attempt.attempt_id else None

    for body, content_type in (
        (urlencode(fields).encode(), "application/x-www-form-urlencoded"),
        (json.dumps(fields).encode(), "text/plain"),
    ):
        ref = await om_provider.verify_notification(raw(attempt, body, content_type), find)
        assert ref.dedupe_key == f"{attempt.attempt_id}:MP1:SUCCESS"
        assert json.loads(ref.body_redacted) == {
            "status": "SUCCESS",
            "txnid": "MP1",
            "notif_token": "[redacted]",
        }
    forged = {**fields, "notif_token": fields["notif_token"][:-1] + "x"}
    with pytest.raises(NotificationRejected, match="does not match"):
        await om_provider.verify_notification(
            raw(attempt, json.dumps(forged).encode(), "application/json"), find
        )


async def test_check_credentials_asks_for_a_token(
    om_provider: OrangeMoney, om_settings: OrangeMoneySettings
) -> None:
    assert "issued an access token" in await om_provider.check_credentials()
    wrong = OrangeMoney(
        om_settings.model_copy(update={"client_secret": SecretStr("not-the-om-secret-4242")})
    )
    with pytest.raises(ProviderError) as refused:
        await wrong.check_credentials()
    assert "not-the-om-secret-4242" not in str(refused.value)
    assert CLIENT_SECRET not in str(refused.value)
