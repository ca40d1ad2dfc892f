"""Amounts as Wave writes them: a string of major units, no decimals for XOF (C2)."""

from __future__ import annotations

from typing import Final

from gated_delivery.api import Money, MoneyError
from gated_delivery_wave.errors import WaveRequestInvalid

#: The currencies of Wave's Checkout wallets we can price in (XOF for SN and CI; C2).
#: GMD, UGX, GNF... exist elsewhere but are not yet money in the core, except GNF.
CURRENCIES: Final = frozenset({"XOF", "GNF"})


def api_amount(amount: Money) -> str:
    """The ``amount`` string Wave takes: ``"2500"`` for 2500 XOF; no leading zeros, no sign.

    Refuses what Wave cannot take before anything is sent.
    """
    if amount.currency not in CURRENCIES:
        raise WaveRequestInvalid(
            "unsupported_currency",
            f"Wave takes {', '.join(sorted(CURRENCIES))}, not {amount.currency}; "
            "price the product in the wallet's currency",
        )
    if amount.amount_minor <= 0:
        raise WaveRequestInvalid("invalid_amount", f"{amount} is not a positive amount")
    return amount.major_str()


def parse_amount(value: object, currency: object) -> Money | None:
    """Wave's ``amount`` and ``currency`` as ``Money``; None when unreadable (staff look)."""
    if not isinstance(value, str) or not isinstance(currency, str):
        return None  # C2 says a string; a number would be a change at Wave to look into
    try:
        return Money.parse(value, currency)
    except MoneyError:
        return None
