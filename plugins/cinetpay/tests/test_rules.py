"""What may be sent to CinetPay (rules.py): amounts, currencies, transaction ids."""

from __future__ import annotations

import re
import secrets

import pytest
from gated_delivery_cinetpay import AmountNotAccepted, CinetPayError, rules

from gated_delivery.money import Money


@pytest.mark.parametrize(
    ("price", "sent"),
    [
        (Money(100, "XOF"), 100),
        (Money(2500, "XAF"), 2500),
        (Money(1000, "GNF"), 1000),
        (Money(5000, "CDF"), 5000),
        (Money(500, "USD"), 5),
    ],
    ids=str,
)
def test_accepted_amounts_are_sent_as_whole_major_units(price: Money, sent: int) -> None:
    assert rules.amount_to_send(price) == sent


@pytest.mark.parametrize(
    ("price", "words"),
    [
        (Money(5003, "XOF"), "multiples of 5; 5003 XOF is not (use 5000 or 5005)"),
        (Money(95, "XOF"), "at least 100 XOF"),
        (Money(1250, "EUR"), "does not take EUR"),
        (Money(1250, "USD"), "whole amounts only"),
        (Money(1200, "USD"), "multiples of 5"),  # the USD exemption is unconfirmed
        (Money(995, "GNF"), "at least 1000 GNF"),
    ],
    ids=str,
)
def test_refused_amounts_say_why_before_any_request(price: Money, words: str) -> None:
    with pytest.raises(AmountNotAccepted, match=re.escape(words)) as info:
        rules.amount_to_send(price)
    assert info.value.code == "amount-rules"
    assert info.value.provider == "cinetpay"


def test_core_attempt_ids_round_trip_through_25_safe_characters() -> None:
    for _ in range(500):
        attempt_id = secrets.token_urlsafe(16)
        transaction = rules.transaction_id(attempt_id)
        assert len(transaction) <= rules.MAX_TRANSACTION_ID
        assert all(c.isascii() and (c.isalnum() or c == "-") for c in transaction)
        assert rules.attempt_id(transaction) == attempt_id


def test_safe_short_ids_travel_unchanged() -> None:
    assert rules.transaction_id("GD-20240315-0001") == "GD-20240315-0001"
    assert rules.attempt_id("GD-20240315-0001") == "GD-20240315-0001"


def test_an_id_that_cannot_be_sent_is_a_provider_error() -> None:
    with pytest.raises(CinetPayError, match="cannot be sent"):
        rules.transaction_id("x_" * 16)


def test_description_drops_the_characters_to_avoid() -> None:
    assert rules.description("Kit #1 / 2 $ _ & co") == "Kit 1 2 co"
    assert rules.description("###") == "Order"
    assert len(rules.description("a" * 500)) == rules.MAX_DESCRIPTION
