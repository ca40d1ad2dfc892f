"""CinetPay's own Python SDK (``cinetpay-python`` from PyPI) against our v1 simulator.

An independent client of the current API: if the SDK CinetPay wrote for its API logs in,
initialises, reads every status and accepts the simulator's notification, the simulator speaks
the protocol the SDK expects — and the plugin, tested against the same simulator, does too.

Nothing in the SDK is changed or subclassed: it accepts ``http://`` on 127.0.0.1 (its HTTPS
rule exempts localhost and 127.0.0.1), and for a host other than CinetPay's it only logs a
warning; ``base_url`` is given explicitly because the simulator lives under a path prefix.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from cinetpay import (
    ApiError,
    AuthenticationError,
    CinetPayClient,
    ClientConfig,
    CountryCredentials,
    PaymentRequest,
    parse_notification,
    verify_notification,
)

from ..conftest import V1_API_KEY, V1_API_PASSWORD, V1Server

COUNTRY = "CI"


@pytest.fixture
def sdk(v1_server: V1Server) -> Iterator[CinetPayClient]:
    """The SDK's synchronous client, with the test credentials, pointed at the simulator."""
    config = ClientConfig(
        credentials={COUNTRY: CountryCredentials(api_key=V1_API_KEY, api_password=V1_API_PASSWORD)},
        base_url=v1_server.api_url,
    )
    with CinetPayClient(config) as client:
        yield client
    v1_server.simulator.misbehaviour.is_down = False


def payment(amount: int = 5000) -> PaymentRequest:
    return PaymentRequest(
        currency="XOF",
        merchant_transaction_id="sdk" + secrets.token_hex(8),
        amount=amount,
        lang="fr",
        designation="Guide de l'audit associatif",
        client_email="fatou@example.org",
        client_first_name="Fatou",
        client_last_name="Sow",
        success_url="http://127.0.0.1/payments/cinetpay/return?order=x",
        failed_url="http://127.0.0.1/payments/cinetpay/return?order=x&cancelled=1",
        notify_url="http://127.0.0.1/payments/cinetpay/notify?order=x",
        channel="PUSH",
    )


def test_login_initialise_and_status_in_each_state(
    sdk: CinetPayClient, v1_server: V1Server
) -> None:
    logins = v1_server.simulator.logins
    request = payment()
    opened = sdk.payment.initialize(request, COUNTRY)
    assert opened.payment_url.startswith(v1_server.api_url + "/pay/")
    assert opened.merchant_transaction_id == request.merchant_transaction_id
    assert (opened.details.code, opened.details.status) == (2001, "INITIATED")
    assert v1_server.simulator.logins == logins + 1
    seen = [sdk.payment.get_status(request.merchant_transaction_id, COUNTRY)]
    v1_server.simulator.settle(request.merchant_transaction_id, "PENDING")
    seen.append(sdk.payment.get_status(opened.payment_token, COUNTRY))  # by payment token
    v1_server.simulator.settle(request.merchant_transaction_id, "SUCCESS")
    seen.append(sdk.payment.get_status(opened.transaction_id, COUNTRY))  # by CinetPay's id
    assert [(s.code, s.status) for s in seen] == [
        (2001, "INITIATED"),
        (2002, "PENDING"),
        (100, "SUCCESS"),
    ]
    assert seen[-1].user.email == "fatou@example.org"
    assert v1_server.simulator.logins == logins + 1  # the SDK's cache held the token


@pytest.mark.parametrize(
    ("outcome", "code", "expected"),
    [
        ("FAILED", "", (2010, "FAILED")),
        ("FAILED", "2005", (2005, "INSUFFICIENT_BALANCE")),
        ("EXPIRED", "", (2003, "EXPIRED")),
    ],
)
def test_final_failures_read_by_the_sdk(
    sdk: CinetPayClient,
    v1_server: V1Server,
    outcome: str,
    code: str,
    expected: tuple[int, str],
) -> None:
    request = payment()
    sdk.payment.initialize(request, COUNTRY)
    v1_server.simulator.settle(request.merchant_transaction_id, outcome, code=code or None)
    answer = sdk.payment.get_status(request.merchant_transaction_id, COUNTRY)
    assert (answer.code, answer.status) == expected


def test_the_sdk_verifies_the_simulators_notification(
    sdk: CinetPayClient, v1_server: V1Server
) -> None:
    request = payment()
    opened = sdk.payment.initialize(request, COUNTRY)
    v1_server.simulator.settle(request.merchant_transaction_id, "SUCCESS")
    body = v1_server.simulator.notification(request.merchant_transaction_id).decode()
    notice = parse_notification(body)
    assert notice.merchant_transaction_id == request.merchant_transaction_id
    assert notice.transaction_id == opened.transaction_id
    assert notice.user is not None
    assert verify_notification(opened.notify_token, notice.notify_token)
    other = sdk.payment.initialize(payment(), COUNTRY)
    assert not verify_notification(other.notify_token, notice.notify_token)


def test_the_sdk_meets_the_simulators_refusals(sdk: CinetPayClient, v1_server: V1Server) -> None:
    request = payment()
    sdk.payment.initialize(request, COUNTRY)
    with pytest.raises(ApiError) as reused:
        sdk.payment.initialize(request, COUNTRY)
    assert (reused.value.api_code, reused.value.api_status) == (1200, "TRANSACTION_EXIST")
    with pytest.raises(ApiError) as unknown:
        sdk.payment.get_status("NoSuchPayment", COUNTRY)
    assert (unknown.value.api_code, unknown.value.api_status) == (404, "NOT_FOUND")


def test_the_sdk_renews_an_expired_token_once(sdk: CinetPayClient, v1_server: V1Server) -> None:
    request = payment()
    sdk.payment.initialize(request, COUNTRY)
    logins = v1_server.simulator.logins
    v1_server.simulator.expire_tokens()
    answer = sdk.payment.get_status(request.merchant_transaction_id, COUNTRY)
    assert answer.status == "INITIATED"
    assert v1_server.simulator.logins == logins + 1


def test_wrong_credentials_are_refused_to_the_sdk(v1_server: V1Server) -> None:
    config = ClientConfig(
        credentials={COUNTRY: CountryCredentials(api_key=V1_API_KEY, api_password="not-it-000")},
        base_url=v1_server.api_url,
    )
    with CinetPayClient(config) as client, pytest.raises(AuthenticationError):
        client.payment.initialize(payment(), COUNTRY)
