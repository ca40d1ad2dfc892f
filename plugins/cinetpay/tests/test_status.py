"""What a check answer means (status.py), for every code and word the facts file lists."""

from __future__ import annotations

from typing import Any

import pytest
from gated_delivery_cinetpay import CheckRefused, CinetPayUnavailable
from gated_delivery_cinetpay.status import CODES, interpret

from gated_delivery.money import Money
from gated_delivery.plugin_types import ReportedStatus

S = ReportedStatus


def answer(code: str, status: str, amount: Any = "2500", currency: Any = "XOF") -> dict[str, Any]:
    return {
        "code": code,
        "message": CODES.get(code, ("?", ""))[0],
        "data": {"amount": amount, "currency": currency, "status": status, "cel_phone_num": "07"},
        "api_response_id": "1663323067.7677",
    }


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("00", "ACCEPTED", S.SUCCEEDED),
        ("627", "REFUSED", S.CANCELLED),
        *[
            (code, "REFUSED", S.FAILED)
            for code in ("600", "602", "604", "606", "635", "636", "641", "642", "804", "807")
        ],
        *[(code, "WAITING_FOR_CUSTOMER", S.PENDING) for code in ("623", "662", "663", "664")],
        ("603", "WAITING_FOR_CUSTOMER", S.PENDING),
        ("662", "PENDING", S.PENDING),
        ("00", "WAITING_FOR_CUSTOMER", S.PENDING),
        ("600", "ACCEPTED", S.PENDING),  # paid needs both code 00 and ACCEPTED
        ("999", "SOMETHING_NEW", S.PENDING),
        ("627", "", S.PENDING),  # only data.status says failed
    ],
)
def test_status_mapping(code: str, status: str, expected: ReportedStatus) -> None:
    assert interpret(answer(code, status)).status is expected


def test_success_carries_the_amount_parsed_exactly() -> None:
    reported = interpret(answer("00", "ACCEPTED", amount="2500", currency="XOF"))
    assert reported.amount == Money(2500, "XOF")
    assert reported.data["status"] == "ACCEPTED"
    assert "cel_phone_num" not in reported.data  # no personal data in the audit trail


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("2500.5", "XOF"), ("2 500", "XOF"), (2500.0, "XOF"), ("2500", "GHS"), (None, "XOF")],
)
def test_success_with_an_unreadable_amount_has_none_so_the_core_reviews_it(
    amount: Any, currency: str
) -> None:
    reported = interpret(answer("00", "ACCEPTED", amount=amount, currency=currency))
    assert reported.status is S.SUCCEEDED
    assert reported.amount is None


@pytest.mark.parametrize("code", ["608", "609", "613", "624", "1010"])
def test_an_envelope_without_data_is_a_refusal_with_cinetpays_code(code: str) -> None:
    with pytest.raises(CheckRefused) as info:
        interpret({"code": code, "message": "AUTH_NOT_FOUND"})
    assert info.value.code == code


def test_too_many_requests_means_later() -> None:
    with pytest.raises(CinetPayUnavailable):
        interpret({"code": "429", "message": "TOO_MANY_REQUEST"})
