"""Amounts, shares, durations and instants as a French or English reader writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from gated_delivery import formats
from gated_delivery.errors import ConfigurationError
from gated_delivery.money import Money

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("money", "lang", "text"),
    [
        (Money(150_000, "XOF"), "fr", f"150{NNBSP}000{NBSP}FCFA"),
        (Money(150_000, "XAF"), "fr", f"150{NNBSP}000{NBSP}FCFA"),
        (Money(150_000, "XOF"), "en", f"150,000{NBSP}FCFA"),
        (Money(1250, "EUR"), "fr", f"12,50{NBSP}€"),
        (Money(1250, "EUR"), "en", "€12.50"),
        (Money(99, "USD"), "en", "US$0.99"),
        (Money(2_500_000, "GNF"), "fr", f"2{NNBSP}500{NNBSP}000{NBSP}GNF"),
    ],
)
def test_money_as_the_locale_writes_it(money: Money, lang: str, text: str) -> None:
    assert formats.money_text(money, lang) == text


def test_major_units_are_exact() -> None:
    assert str(formats.major_units(Money(1, "EUR"))) == "0.01"
    assert str(formats.major_units(Money(150_000, "XOF"))) == "150000"


def test_instants_in_the_shop_zone_and_utc() -> None:
    instant = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
    assert formats.local_text(instant, formats.zone("Africa/Dakar"), "fr") == "4 déc. 2026, 23:30"
    assert formats.local_text(instant, formats.zone("Europe/Paris"), "en") == "5 Dec 2026, 00:30"
    assert formats.utc_text(instant) == "2026-12-04 23:30:00 UTC"


def test_an_unknown_zone_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="GD_TIMEZONE"):
        formats.zone("Mars/Olympus")


def test_shares_and_durations() -> None:
    assert formats.percent_text(Fraction(1, 3), "fr") == f"33,3{NBSP}%"
    assert formats.percent_text(Fraction(2, 3), "en") == f"66.7{NBSP}%"
    assert formats.percent_text(None, "fr") == "—"
    assert formats.duration_text(timedelta(hours=3), "fr") == f"3{NBSP}heures"
    assert formats.duration_text(timedelta(days=2), "en") == "2 days"
