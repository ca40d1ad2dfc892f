"""What a v1 status answer means (v1/status.py): CinetPay's codes and words, our states."""

from __future__ import annotations

from typing import Any

import pytest
from gated_delivery_cinetpay import CheckRefused, CinetPayUnavailable
from gated_delivery_cinetpay.v1.status import CODES, interpret

from gated_delivery.money import Money
from gated_delivery.plugin_types import ReportedStatus

S = ReportedStatus
ASKED = Money(2500, "XOF")


def answer(code: int, status: str, **more: Any) -> dict[str, Any]:
    body = {"code": code, "status": status, "merchant_transaction_id": "M1", "transaction_id": "C1"}
    return body | more


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (100, "SUCCESS", S.SUCCEEDED),
        (2001, "INITIATED", S.PENDING),
        (2002, "PENDING", S.PENDING),
        (2003, "EXPIRED", S.EXPIRED),
        (2010, "FAILED", S.FAILED),
        (2005, "INSUFFICIENT_BALANCE", S.FAILED),
        (2004, "OTP_ERROR", S.FAILED),
        (2008, "OTP_EXPIRED", S.FAILED),
        (2006, "USER_NOT_FOUND", S.FAILED),
        (2007, "USER_IS_BLOCKED", S.FAILED),
        (2011, "NOT_ALLOWED", S.FAILED),
        (404, "NOT_FOUND", S.PENDING),
    ],
)
def test_every_documented_code(code: int, status: str, expected: ReportedStatus) -> None:
    result = interpret(answer(code, status), ASKED, "M1")
    assert result.status is expected
    assert f"{code} {status}" in result.reason
    assert "user" not in result.data


def test_every_code_of_the_table_is_tested() -> None:
    assert len(CODES) == 12


@pytest.mark.parametrize(
    "body",
    [answer(999, "SOMETHING_NEW"), answer(100, "FAILED"), answer(2010, "SUCCESS"), {}],
)
def test_unknown_or_contradicting_answers_stay_pending_and_are_audited(
    body: dict[str, Any],
) -> None:
    result = interpret(body, ASKED, "M1")
    assert result.status is S.PENDING
    assert result.data.get("unknown_answer") is True


def test_without_an_amount_the_amount_asked_is_assumed_and_said() -> None:
    result = interpret(answer(100, "SUCCESS"), ASKED, "M1")
    assert result.amount == ASKED
    assert "carries no amount" in result.data["amount_source"]
    assert result.provider_ref == "C1"


def test_an_amount_in_the_answer_is_what_the_core_compares() -> None:
    result = interpret(answer(100, "SUCCESS", amount="2000", currency="XOF"), ASKED, "M1")
    assert result.amount == Money(2000, "XOF")
    assert result.data["amount_source"] == "answer"
    unreadable = interpret(answer(100, "SUCCESS", amount=12.5, currency="XOF"), ASKED, "M1")
    assert unreadable.amount is None  # the core sends a success it cannot read to REVIEW


def test_an_answer_about_another_payment_is_refused() -> None:
    with pytest.raises(CheckRefused):
        interpret(answer(100, "SUCCESS", merchant_transaction_id="M2"), ASKED, "M1")


def test_operation_error_means_try_again_later() -> None:
    with pytest.raises(CinetPayUnavailable):
        interpret(answer(-1, "OPERATION_ERROR"), ASKED, "M1")
