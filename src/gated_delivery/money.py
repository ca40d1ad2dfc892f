"""Money as an integer number of minor units plus an ISO 4217 currency code.

Floats never enter: ``int(19.99 * 100)`` is 1998, and ``* 100`` is wrong for XOF, which
has no minor unit at all. Provider amounts arrive as strings and are parsed exactly, in integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from gated_delivery.errors import MoneyError

#: Minor-unit exponent of each currency we accept (ISO 4217).
MINOR_UNIT_EXPONENTS: Final[dict[str, int]] = {
    "XOF": 0,
    "XAF": 0,
    "GNF": 0,
    "CDF": 0,
    "EUR": 2,
    "USD": 2,
}

# ASCII digits only, no spaces, no exponent: what providers and forms send
_AMOUNT = re.compile(r"(?P<sign>-)?(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?\Z", re.ASCII)


def check_currency(code: str) -> str:
    """Return ``code`` if it is a supported ISO 4217 code, else raise ``MoneyError``."""
    if code not in MINOR_UNIT_EXPONENTS:
        known = ", ".join(sorted(MINOR_UNIT_EXPONENTS))
        raise MoneyError(f"unsupported currency {code!r}; use one of {known}")
    return code


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: ``amount_minor`` units of the currency's minor unit."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass; True francs is a bug, not an amount
        if type(self.amount_minor) is not int:
            raise MoneyError(
                f"amount_minor must be an int number of minor units, "
                f"not {type(self.amount_minor).__name__}"
            )
        check_currency(self.currency)

    @classmethod
    def parse(cls, amount: str | int, currency: str) -> Money:
        """Parse a major-unit amount such as ``"12.50"`` EUR or ``"5000"`` XOF.

        Exact, in integers: floats are refused, and so is any string with spaces, non-ASCII
        digits, exponents or more significant decimals than the currency has.
        """
        if isinstance(amount, bool) or not isinstance(amount, str | int):
            raise MoneyError(
                f"amount must be a string or int, not {type(amount).__name__}; "
                "floats cannot hold money exactly"
            )
        exponent = MINOR_UNIT_EXPONENTS[check_currency(currency)]
        text = str(amount)
        match = _AMOUNT.match(text)
        if match is None:
            raise MoneyError(f"{text[:40]!r} is not an amount; write digits with an optional '.'")
        sign, whole, fraction = match.group("sign"), match.group("whole"), match.group("fraction")
        fraction = (fraction or "").rstrip("0")  # "5000.00" XOF is still 5000
        if len(fraction) > exponent:
            raise MoneyError(
                f"{text} {currency} has more decimals than {currency} allows ({exponent})"
            )
        minor = int(whole) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
        return cls(-minor if sign else minor, currency)

    @property
    def exponent(self) -> int:
        """How many decimals the currency's major unit has."""
        return MINOR_UNIT_EXPONENTS[self.currency]

    def major_str(self) -> str:
        """The amount in major units as an exact string: ``"12.50"``, ``"5000"``."""
        if self.exponent == 0:
            return str(self.amount_minor)
        whole, fraction = divmod(abs(self.amount_minor), 10**self.exponent)
        sign = "-" if self.amount_minor < 0 else ""
        return f"{sign}{whole}.{fraction:0{self.exponent}d}"

    def __str__(self) -> str:
        return f"{self.major_str()} {self.currency}"
