"""The HTTP calls (api.py): retries for the check only, timeouts, answers that are not JSON.

No database here: the provider is called directly, against the simulator over loopback, or
against ``httpx.MockTransport`` for answers the simulator never gives (broken JSON, a 502
page on initialisation).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import httpx
import pytest
from gated_delivery_cinetpay import CinetPay, CinetPayUnavailable, PaymentRefused

from gated_delivery.money import Money
from gated_delivery.plugin_types import AttemptView, PaymentRequest, ReportedStatus
from gated_delivery.states import AttemptState

from .conftest import CinetPayControl, SimulatorServer, make_config


async def opened(provider: CinetPay) -> AttemptView:
    """A payment opened on the simulator, and the attempt the core would hand back."""
    attempt_id = secrets.token_urlsafe(16)
    request = PaymentRequest(
        attempt_id=attempt_id,
        order_id="order-1",
        amount=Money(2500, "XOF"),
        description="Guide",
        buyer_name="Awa",
        buyer_email="awa@example.org",
        return_url="https://shop.example.org/return",
        notify_url="https://shop.example.org/notify",
        cancel_url="https://shop.example.org/return?cancelled=1",
    )
    start = await provider.start_payment(request)
    return AttemptView(
        attempt_id=attempt_id,
        order_id="order-1",
        provider="cinetpay",
        state=AttemptState.PENDING,
        amount=request.amount,
        provider_ref=start.provider_ref,
        provider_data=start.provider_data,
        created_at=datetime.now(UTC),
    )


async def test_one_5xx_is_absorbed_by_the_quick_retry(
    cinetpay_provider: CinetPay, gd_provider_control: CinetPayControl
) -> None:
    attempt = await opened(cinetpay_provider)
    await gd_provider_control.settle(attempt, ReportedStatus.SUCCEEDED)
    before = gd_provider_control.misbehave(check_errors="1")["checks"]
    status = await cinetpay_provider.check_status(attempt)
    assert status.status is ReportedStatus.SUCCEEDED
    assert status.amount == Money(2500, "XOF")
    assert gd_provider_control.misbehave()["checks"] - before == 2


async def test_a_check_slower_than_the_timeout_is_unavailable(
    cinetpay_server: SimulatorServer, gd_provider_control: CinetPayControl
) -> None:
    impatient = CinetPay(
        make_config(cinetpay_server.api_url),
        timeout=httpx.Timeout(10.0, read=0.2),
        check_retry_delays=(0.0,),
    )
    attempt = await opened(impatient)
    await gd_provider_control.settle(attempt, ReportedStatus.SUCCEEDED)
    gd_provider_control.misbehave(check_delay="1")
    with pytest.raises(CinetPayUnavailable, match=r"ReadTimeout.*\(2 tries\)"):
        await impatient.check_status(attempt)
    gd_provider_control.misbehave(check_delay="0")
    assert (await impatient.check_status(attempt)).status is ReportedStatus.SUCCEEDED


async def test_an_answer_that_is_not_json_is_unavailable(
    cinetpay_server: SimulatorServer, cinetpay_provider: CinetPay
) -> None:
    attempt = await opened(cinetpay_provider)
    broken = CinetPay(
        make_config(cinetpay_server.api_url),
        transport=httpx.MockTransport(lambda request: httpx.Response(200, text="<html>")),
    )
    with pytest.raises(CinetPayUnavailable, match="not JSON"):
        await broken.check_status(attempt)


async def test_the_initialisation_is_never_retried() -> None:
    calls: list[httpx.Request] = []

    def gateway_error(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(502, text="Bad Gateway")

    provider = CinetPay(
        make_config("https://api-checkout.cinetpay.com"),
        transport=httpx.MockTransport(gateway_error),
        check_retry_delays=(0.0, 0.0),
    )
    with pytest.raises(CinetPayUnavailable, match="502"):
        await opened(provider)
    assert len(calls) == 1
    assert calls[0].headers["user-agent"].startswith("gated-delivery-cinetpay/")


async def test_a_refusal_carries_cinetpays_code_and_words() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        # the body's code decides, whatever the HTTP status (here a 200)
        return httpx.Response(200, json={"code": "624", "message": "An error occurred"})

    provider = CinetPay(
        make_config("https://api-checkout.cinetpay.com"), transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(PaymentRefused) as info:
        await opened(provider)
    assert (info.value.code, info.value.provider_message) == ("624", "An error occurred")
