"""``gated_delivery.money``: exact amounts in minor units, never floats."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gated_delivery.errors import MoneyError
from gated_delivery.money import MINOR_UNIT_EXPONENTS, Money

CURRENCIES = sorted(MINOR_UNIT_EXPONENTS)
#: Amounts are stored in BIGINT columns: this is every amount the database can hold.
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


# --- construction ----------------------------------------------------------------------


@pytest.mark.parametrize("amount", [12.5, 1250.0, 0.0, float("nan")])
def test_money_refuses_floats(amount: float) -> None:
    with pytest.raises(MoneyError, match="must be an int"):
        Money(amount, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [True, False])
def test_money_refuses_bools(amount: bool) -> None:
    with pytest.raises(MoneyError, match="not bool"):
        Money(amount, "XOF")


@pytest.mark.parametrize("amount", [Decimal("1250"), "1250", None])
def test_money_refuses_other_non_ints(amount: object) -> None:
    with pytest.raises(MoneyError):
        Money(amount, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["ABC", "", "eur", "EURO", "XOF "])
def test_money_refuses_unknown_currencies(currency: str) -> None:
    with pytest.raises(MoneyError, match="unsupported currency"):
        Money(100, currency)


def test_money_is_an_error_callers_can_catch_as_value_error() -> None:
    with pytest.raises(ValueError, match="unsupported currency"):
        Money(100, "ABC")


def test_money_is_frozen() -> None:
    money = Money(1250, "EUR")
    with pytest.raises(dataclasses.FrozenInstanceError):
        money.amount_minor = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        money.currency = "XOF"  # type: ignore[misc]
    assert money == Money(1250, "EUR")


def test_money_compares_by_amount_and_currency() -> None:
    assert Money(5000, "XOF") == Money(5000, "XOF")
    assert Money(5000, "XOF") != Money(5000, "XAF")
    assert Money(5000, "XOF") != Money(5001, "XOF")
    assert len({Money(5000, "XOF"), Money(5000, "XOF"), Money(5000, "XAF")}) == 2


# --- parse -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("12", "EUR", 1200),
        ("0.01", "USD", 1),
        ("12.500", "EUR", 1250),
        ("5000", "XOF", 5000),
        ("5000.0", "XOF", 5000),
        ("150000", "XAF", 150000),
        ("0", "GNF", 0),
        ("-3.25", "EUR", -325),
    ],
)
def test_parse(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


def test_parse_twelve_fifty_euros_is_1250_cents() -> None:
    assert Money.parse("12.50", "EUR").amount_minor == 1250


def test_parse_xof_has_no_minor_unit() -> None:
    assert Money.parse("5000", "XOF").amount_minor == 5000


def test_parse_accepts_an_int_in_major_units() -> None:
    assert Money.parse(5000, "XOF") == Money(5000, "XOF")
    assert Money.parse(12, "EUR") == Money(1200, "EUR")


@pytest.mark.parametrize(
    ("text", "currency"),
    [("12.5", "XOF"), ("0.1", "XAF"), ("1.5", "GNF"), ("12.505", "EUR"), ("0.001", "USD")],
)
def test_parse_refuses_more_decimals_than_the_currency_has(text: str, currency: str) -> None:
    with pytest.raises(MoneyError, match=f"more decimals than {currency} allows"):
        Money.parse(text, currency)


@pytest.mark.parametrize(
    "text",
    [
        "1,000",
        "",
        "abc",
        "1e3",
        "-",
        "12.",
        ".5",
        "1.2.3",
        "+5",
        "NaN",
        "Infinity",
        "0x10",
        "1_000",
        " 12",
        "12\n",
        "\u0663",  # ARABIC-INDIC DIGIT THREE
    ],
)
def test_parse_refuses_malformed_strings(text: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(text, "XOF")


@pytest.mark.parametrize("amount", [12.5, 5000.0, True, None, Decimal("12.50")])
def test_parse_refuses_floats_bools_and_other_types(amount: object) -> None:
    with pytest.raises(MoneyError):
        Money.parse(amount, "EUR")  # type: ignore[arg-type]


def test_parse_refuses_unknown_currencies() -> None:
    with pytest.raises(MoneyError, match="unsupported currency"):
        Money.parse("12.50", "ABC")


# --- major_str -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(1250, "EUR"), "12.50"),
        (Money(5, "EUR"), "0.05"),
        (Money(0, "EUR"), "0.00"),
        (Money(100, "USD"), "1.00"),
        (Money(-325, "EUR"), "-3.25"),
        (Money(5000, "XOF"), "5000"),
        (Money(0, "XAF"), "0"),
        (Money(-7, "GNF"), "-7"),
    ],
)
def test_major_str(money: Money, text: str) -> None:
    assert money.major_str() == text
    assert str(money) == f"{text} {money.currency}"


@pytest.mark.parametrize("currency", CURRENCIES)
def test_exponent_is_the_table_entry(currency: str) -> None:
    assert Money(1, currency).exponent == MINOR_UNIT_EXPONENTS[currency]


@pytest.mark.parametrize("currency", ["XOF", "XAF", "GNF"])
def test_west_and_central_african_francs_have_no_minor_unit(currency: str) -> None:
    assert MINOR_UNIT_EXPONENTS[currency] == 0


@given(n=INT64, currency=st.sampled_from(CURRENCIES))
@example(n=0, currency="EUR")
@example(n=-1, currency="EUR")
@example(n=2**63 - 1, currency="EUR")
@example(n=-(2**63), currency="XOF")
def test_major_str_round_trips(n: int, currency: str) -> None:
    money = Money(n, currency)
    assert Money.parse(money.major_str(), currency) == money


@given(n=st.integers(), currency=st.sampled_from(CURRENCIES))
@example(n=10**30 + 1, currency="XOF")
def test_any_amount_round_trips_or_is_refused(n: int, currency: str) -> None:
    """No amount is ever silently rounded: it round-trips, or ``Money`` refuses it."""
    try:
        money = Money(n, currency)
    except MoneyError:
        return
    assert Money.parse(money.major_str(), currency) == money
