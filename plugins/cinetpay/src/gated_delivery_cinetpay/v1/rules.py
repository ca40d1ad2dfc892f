"""What the current API accepts: amounts, ids, names, labels (CinetPay SDK's own validation).

Checked before any request, so a price or a name CinetPay would refuse fails with a clear
message instead of a refused initialisation.
"""

from __future__ import annotations

from typing import Final

from gated_delivery.api import Money
from gated_delivery_cinetpay.errors import AmountNotAccepted, BuyerDetailsRefused, CinetPayError

CURRENCIES: Final = frozenset({"XOF", "XAF", "GNF", "CDF", "USD"})
#: Whole units, the same bounds for every currency in the SDK. Whether the legacy
#: multiple-of-5 rule still holds is an open question: it is not enforced here.
MIN_AMOUNT: Final = 100
MAX_AMOUNT: Final = 2_500_000
MAX_TRANSACTION_ID: Final = 30
NAME_LENGTH: Final = (2, 255)
MAX_DESIGNATION: Final = 255


def refusal(amount: Money) -> str | None:
    """Why the current API cannot take ``amount``, or None when it can."""
    if amount.currency not in CURRENCIES:
        accepted = ", ".join(sorted(CURRENCIES))
        return f"CinetPay does not take {amount.currency}; price the product in one of {accepted}"
    whole, cents = divmod(amount.amount_minor, 10**amount.exponent)
    if cents:
        return f"CinetPay takes whole amounts only; {amount} has a fractional part"
    if not MIN_AMOUNT <= whole <= MAX_AMOUNT:
        return (
            f"CinetPay takes amounts from {MIN_AMOUNT} to {MAX_AMOUNT:,} {amount.currency}; "
            f"{amount} is outside"
        ).replace(",", " ")
    return None


def amount_to_send(amount: Money) -> int:
    """The integer ``amount`` field, or ``AmountNotAccepted`` saying why not."""
    reason = refusal(amount)
    if reason is not None:
        raise AmountNotAccepted(reason)
    scale: int = 10**amount.exponent
    return amount.amount_minor // scale


def merchant_transaction_id(attempt_id: str) -> str:
    """Our attempt id, sent unchanged (22 letters and digits fit the 30 allowed)."""
    if not 1 <= len(attempt_id) <= MAX_TRANSACTION_ID:
        raise CinetPayError(
            "merchant-transaction-id",
            f"an attempt id of {len(attempt_id)} characters is longer than the "
            f"{MAX_TRANSACTION_ID} CinetPay allows",
        )
    return attempt_id


def split_name(full_name: str) -> tuple[str, str]:
    """``(first, last)`` from one name field, each 2 to 255 characters as CinetPay asks.

    The first word is the first name and the rest the last name ("Awa Diallo Ndiaye" →
    "Awa", "Diallo Ndiaye"); a single word is used for both; a one-letter part takes the whole
    name instead (an initial is not a name CinetPay accepts).
    """
    words = full_name.split()
    whole = " ".join(words)
    low, high = NAME_LENGTH
    if len(whole) < low:
        raise BuyerDetailsRefused(
            "CinetPay needs the buyer's name with at least two letters; ask the buyer to "
            "write their full name",
            field="buyer_name",
        )
    first, last = (words[0], " ".join(words[1:])) if len(words) > 1 else (whole, whole)
    if len(first) < low:
        first = whole
    if len(last) < low:
        last = whole
    return first[:high], last[:high]


def designation(title: str) -> str:
    """The product title as the label the buyer sees (1 to 255 characters)."""
    cleaned = " ".join(title.split())
    return cleaned[:MAX_DESIGNATION] or "Commande"
