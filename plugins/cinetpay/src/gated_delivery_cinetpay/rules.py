"""CinetPay's rules for what may be sent: amounts, currencies, transaction ids, descriptions.

Checked before any request, so a price CinetPay would refuse (or, worse, silently round)
fails with a clear message instead of a payment page for another amount.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from gated_delivery.api import Money, PaymentRequest
from gated_delivery_cinetpay.errors import AmountNotAccepted, BuyerDetailsRefused, CinetPayError

#: Currencies the Checkout API v2 accepts (facts file, section 1: official doc).
CURRENCIES: Final = frozenset({"XOF", "XAF", "CDF", "GNF", "USD"})

#: Smallest amount per currency, in major units. Only 100 XOF is official; the others come
#: from a single third-party implementation and are unsure, but refusing early is cheaper
#: than CinetPay's ERROR_AMOUNT_TOO_LOW (641) after the buyer reached the payment page.
MINIMUM_MAJOR: Final = {"XOF": 100, "XAF": 100, "CDF": 1000, "GNF": 1000, "USD": 1}

#: The official doc says "multiple of 5". A third party says USD is exempt and that other
#: amounts are rounded down; neither is confirmed, so every currency must be a multiple of 5.
MULTIPLE_OF: Final = 5

#: Transaction ids: length and charset are undocumented; implementations cap at 25 or 30
#: characters. We stay within the conservative choice: at most 25 of [A-Za-z0-9-].
MAX_TRANSACTION_ID: Final = 25
_SAFE_ID = re.compile(r"[A-Za-z0-9-]{1,24}\Z", re.ASCII)
_BASE36_ID = re.compile(r"[0-9a-z]{25}\Z", re.ASCII)
_DIGITS36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"

#: Characters the doc says to avoid in ``description``.
AVOIDED_IN_DESCRIPTION = re.compile(r"[#/$_&]")
MAX_DESCRIPTION: Final = 100  # undocumented; short enough for the payment page


def amount_to_send(amount: Money) -> int:
    """The integer ``amount`` field for ``amount``, or ``AmountNotAccepted`` saying why not."""
    if amount.currency not in CURRENCIES:
        accepted = ", ".join(sorted(CURRENCIES))
        raise AmountNotAccepted(
            f"CinetPay does not take {amount.currency}; price the product in one of {accepted}"
        )
    scale: int = 10**amount.exponent
    whole, cents = divmod(amount.amount_minor, scale)
    if cents:
        raise AmountNotAccepted(
            f"CinetPay takes whole amounts only; {amount} has a fractional part"
        )
    if whole % MULTIPLE_OF:
        raise AmountNotAccepted(
            f"CinetPay takes amounts that are multiples of {MULTIPLE_OF}; {amount} is not "
            f"(use {whole - whole % MULTIPLE_OF} or {whole - whole % MULTIPLE_OF + MULTIPLE_OF})"
        )
    minimum = MINIMUM_MAJOR[amount.currency]
    if whole < minimum:
        raise AmountNotAccepted(
            f"CinetPay takes at least {minimum} {amount.currency}; {amount} is too low"
        )
    return whole


def transaction_id(attempt_id: str) -> str:
    """Our attempt id as a CinetPay ``transaction_id`` (reversible, see ``attempt_id``).

    The core's attempt ids are 22 letters and digits, inside CinetPay's safe charset, and
    travel unchanged. Ids of the older form, 22 URL-safe base64 characters (16 random bytes)
    that may hold ``_``, become the 25 base-36 digits of the same 16 bytes; the length keeps
    the two forms apart.
    """
    if _SAFE_ID.match(attempt_id):
        return attempt_id
    raw = _b64_16(attempt_id)
    if raw is None:
        raise CinetPayError(
            "transaction-id",
            f"an attempt id of {len(attempt_id)} characters cannot be sent as a CinetPay "
            "transaction_id (at most 25 of A-Z, a-z, 0-9 and '-')",
        )
    number = int.from_bytes(raw, "big")
    digits = []
    for _ in range(MAX_TRANSACTION_ID):
        number, digit = divmod(number, 36)
        digits.append(_DIGITS36[digit])
    return "".join(reversed(digits))


def attempt_id(transaction: str) -> str:
    """The attempt id a CinetPay ``transaction_id`` stands for (inverse of ``transaction_id``)."""
    if _BASE36_ID.match(transaction):
        number = int(transaction, 36)
        if number < 1 << 128:
            return base64.urlsafe_b64encode(number.to_bytes(16, "big")).decode().rstrip("=")
    return transaction


def _b64_16(text: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(text + "==")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 16 or base64.urlsafe_b64encode(raw).decode().rstrip("=") != text:
        return None  # not the canonical form: decoding would not give the same id back
    return raw


def description(title: str) -> str:
    """The product title, without the characters the doc says to avoid, not too long."""
    cleaned = " ".join(AVOIDED_IN_DESCRIPTION.sub(" ", title).split())
    return cleaned[:MAX_DESCRIPTION] or "Order"


#: ``channels`` values that let the buyer pay by card: CinetPay then wants to know the payer.
CARD_CHANNELS: Final = frozenset({"ALL", "CREDIT_CARD"})
#: customer_* field ← the order's ``buyer_details`` key that feeds it.
CUSTOMER_DETAILS: Final = {
    "customer_phone_number": "phone",
    "customer_address": "address",
    "customer_city": "city",
    "customer_country": "country",
    "customer_state": "state",
    "customer_zip_code": "zip_code",
}
_COUNTRY = re.compile(r"[A-Z]{2}\Z")


def customer_fields(request: PaymentRequest, *, required: str) -> dict[str, str]:
    """The customer_* fields of the card option, from the buyer's name, e-mail and details.

    CinetPay's PHP SDK requires all of them for ``CREDIT_CARD``: with that channel a missing
    one refuses the start (``InvalidInput`` naming the form answers to collect); with ``ALL``
    the card is one option among others and whatever the order holds is sent.
    """
    words = request.buyer_name.split()
    fields = {
        "customer_name": " ".join(words[1:] or words)[:100],  # CinetPay: name = last name
        "customer_surname": (words[0] if words else "")[:100],  # surname = first name
        "customer_email": request.buyer_email[:200],
    }
    details = request.buyer_details
    for name, key in CUSTOMER_DETAILS.items():
        value = details.get(key, "").strip()
        if name == "customer_country":
            value = value.upper() if _COUNTRY.match(value.upper()) else ""
        if value:
            fields[name] = value[:100]
    if required == "CREDIT_CARD":
        missing = [key for name, key in CUSTOMER_DETAILS.items() if name not in fields]
        if not request.buyer_name.strip():
            missing.insert(0, "buyer name")
        if missing:
            raise BuyerDetailsRefused(
                "CinetPay's card payments need the buyer's "
                + ", ".join(missing)
                + "; collect these answers in the order form (country as a two-letter code) "
                "or set CINETPAY_CHANNELS to another channel"
            )
    return {name: value for name, value in fields.items() if value}
