"""The mapping from Wave's session to the core's status, word by word (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from gated_delivery_wave import map_session
from gated_delivery_wave.mapping import pick_session

from gated_delivery.money import Money
from gated_delivery.plugin_types import ReportedStatus


def session(checkout: str, payment: str, **more: Any) -> dict[str, Any]:
    return {
        "id": "cos-1",
        "amount": "2500",
        "currency": "XOF",
        "checkout_status": checkout,
        "payment_status": payment,
        "restrict_payer_mobile": "+221761110001",
        **more,
    }


@pytest.mark.parametrize(
    ("checkout", "payment", "reported", "amount"),
    [
        ("complete", "succeeded", ReportedStatus.SUCCEEDED, Money(2500, "XOF")),
        ("open", "processing", ReportedStatus.PENDING, None),
        ("expired", "cancelled", ReportedStatus.EXPIRED, None),
        ("expired", "processing", ReportedStatus.EXPIRED, None),
        ("complete", "cancelled", ReportedStatus.REVIEW, None),
        ("complete", "processing", ReportedStatus.REVIEW, None),
        ("expired", "succeeded", ReportedStatus.REVIEW, None),
        ("open", "succeeded", ReportedStatus.REVIEW, None),
        ("open", "cancelled", ReportedStatus.REVIEW, None),
        ("refunded", "who-knows", ReportedStatus.REVIEW, None),
    ],
)
def test_every_combination(
    checkout: str, payment: str, reported: ReportedStatus, amount: Money | None
) -> None:
    status = map_session(session(checkout, payment))
    assert (status.status, status.amount) == (reported, amount)
    assert "+221761110001" not in repr(status)  # the payer's number never reaches the audit
    if reported is ReportedStatus.REVIEW:
        assert status.data["wave_review"] == f"unexpected {checkout} + {payment}"
        assert status.data["wave_checkout_status"] == checkout  # the raw fields, audited


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2500", "XOF", Money(2500, "XOF")),
        ("2500", "EUR", Money(250000, "EUR")),  # another currency: REVIEW at the core
        (2500, "XOF", None),
        ("2500.5", "XOF", None),
        ("2500", "ZZZ", None),
    ],
)
def test_the_amount_is_parsed_exactly_or_not_at_all(
    amount: object, currency: str, expected: Money | None
) -> None:
    status = map_session(session("complete", "succeeded", amount=amount, currency=currency))
    assert status.amount == expected
    if expected is None:  # paid at Wave, but not comparable with the order: a person looks
        assert status.status is ReportedStatus.REVIEW
        assert status.data["wave_review"] == "unreadable amount or currency"
    else:
        assert status.status is ReportedStatus.SUCCEEDED


def test_a_failed_try_is_named_in_the_reason() -> None:
    error = {"code": "insufficient-funds", "message": "Solde insuffisant"}
    status = map_session(session("open", "processing", last_payment_error=error))
    assert status.status is ReportedStatus.PENDING
    assert "insufficient-funds: Solde insuffisant" in status.reason
    assert status.data["wave_last_payment_error"] == "insufficient-funds"
    assert status.buyer_message == "Solde insuffisant"  # Wave's words, for the payer


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (None, ""),
        ({"code": "payment-failure", "message": "  Paiement\n refusé  "}, "Paiement refusé"),
        ({"code": "blocked-account", "message": ""}, "blocked-account"),
        ({"code": "blocked-account", "message": {"nested": "json"}}, "blocked-account"),
        ({"message": "x" * 500}, "x" * 160),
        ("insufficient-funds", ""),
    ],
)
def test_the_buyer_is_told_wave_s_message_as_short_text(error: object, shown: str) -> None:
    status = map_session(session("open", "processing", last_payment_error=error))
    assert status.buyer_message == shown
    assert "{" not in status.buyer_message  # never the raw object


def test_a_settled_session_has_no_word_for_the_buyer() -> None:
    error = {"code": "insufficient-funds", "message": "Solde insuffisant"}
    for checkout, payment in (("complete", "succeeded"), ("expired", "cancelled")):
        status = map_session(session(checkout, payment, last_payment_error=error))
        assert status.buyer_message == ""


def test_the_session_that_decides_without_a_stored_id() -> None:
    old = session("expired", "cancelled", id="cos-old", when_created="2026-01-01T10:00:00Z")
    live = session("open", "processing", id="cos-live", when_created="2026-01-01T10:05:00Z")
    paid = session("complete", "succeeded", id="cos-paid", when_created="2026-01-01T09:00:00Z")
    assert pick_session([]) is None
    assert pick_session([old, live])["id"] == "cos-live"
    assert pick_session([old, live, paid])["id"] == "cos-paid"
