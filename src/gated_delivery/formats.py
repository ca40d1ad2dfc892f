"""Amounts and instants written the way a reader of French or English expects them.

Babel holds each locale's rules (digit grouping, decimal sign, where the symbol goes); the only
thing we add is the "FCFA" that West and Central African shops write for XOF and XAF, where
Babel's French has "F CFA" for one and "FCFA" for the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal, format_percent

from gated_delivery.errors import ConfigurationError
from gated_delivery.money import Money

#: Babel locale of each staff language (fr_FR groups digits with a narrow no-break space).
LOCALES: Final = {"fr": "fr_FR", "en": "en_GB"}
#: Currencies written "150 000 FCFA", the symbol after the number in every language.
FCFA: Final = frozenset({"XOF", "XAF"})
#: Day, month abbreviated, year, 24-hour time: unambiguous in both languages.
DATETIME_PATTERN: Final = "d MMM y, HH:mm"


def locale_of(lang: str) -> str:
    """The Babel locale for a staff language (French for any language we do not know)."""
    return LOCALES.get(lang, LOCALES["fr"])


def major_units(money: Money) -> Decimal:
    """The exact amount in major units, as a Decimal (never a float)."""
    return Decimal(money.amount_minor).scaleb(-money.exponent)


def money_text(money: Money, lang: str) -> str:
    """``150 000 FCFA`` or ``12,50 €`` in French; ``150,000 FCFA`` or ``€12.50`` in English."""
    locale = locale_of(lang)
    amount = major_units(money)
    if money.currency in FCFA:
        return f"{format_decimal(amount, locale=locale)}\u00a0FCFA"
    return str(format_currency(amount, money.currency, locale=locale))


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (such as ``Africa/Dakar``), or ``ConfigurationError``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"GD_TIMEZONE {name[:60]!r} is not a time zone; use an IANA name such as "
            "Africa/Dakar or UTC"
        ) from None


def local_text(instant: datetime, tz: ZoneInfo, lang: str) -> str:
    """``instant`` in the shop's time zone: ``4 déc. 2026, 20:34``."""
    return str(format_datetime(instant, DATETIME_PATTERN, tzinfo=tz, locale=locale_of(lang)))


def utc_text(instant: datetime) -> str:
    """The UTC instant, ISO 8601 to the second, for a page's hover text and exports."""
    return instant.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC")


def percent_text(share: Fraction | None, lang: str) -> str:
    """A share as a percentage to one decimal (``33,3 %``); a dash when there is none."""
    if share is None:
        return "—"
    exact = Decimal(share.numerator) / Decimal(share.denominator)
    rounded = exact.quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    return str(format_percent(rounded, "#,##0.#\u00a0%", locale=locale_of(lang)))


def duration_text(spent: timedelta | None, lang: str) -> str:
    """A duration in words (``3 heures``, ``2 days``); a dash when there is none."""
    if spent is None:
        return "—"
    return str(format_timedelta(spent, threshold=1.5, locale=locale_of(lang)))
