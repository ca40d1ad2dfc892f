"""What a ``/v2/payment/check`` answer means for a payment: CinetPay's words, our states.

The decision rule is the facts file's (section 3):

- paid ⇔ ``code == "00"`` and ``data.status == "ACCEPTED"`` (the core then compares
  ``data.amount`` and ``data.currency`` with the order, and sends a mismatch to REVIEW);
- failed ⇔ ``data.status == "REFUSED"``; with code 627 (TRANSACTION_CANCEL) it is a cancellation;
- pending: everything else (WAITING_*, 623, 662, 663, 664, unknown words), checked again later.

The core never lets a failure undo a success, and lets a late success win over a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from gated_delivery.api import Money, MoneyError, ProviderStatus, ReportedStatus
from gated_delivery_cinetpay.errors import CheckRefused, CinetPayUnavailable

SUCCESS_CODE: Final = "00"
CANCEL_CODE: Final = "627"
#: An error envelope with this code means "too many requests / suspicious": try again later.
TOO_MANY_REQUESTS: Final = "429"

#: Every code the facts file lists for the check, with its message and how it is read.
#: Only ``data.status`` decides; the code refines a refusal and explains the audit entry.
CODES: Final[Mapping[str, tuple[str, str]]] = {
    "00": ("SUCCES", "paid when data.status is ACCEPTED"),
    "600": ("PAYMENT_FAILED", "failure"),
    "602": ("INSUFFICIENT_BALANCE", "failure"),
    "603": ("SERVICE_UNAVAILABLE", "pending: checked again later"),
    "604": ("OTP_CODE_ERROR", "failure"),
    "606": ("INCORRECT_SETTINGS", "failure"),
    "623": ("WAITING_CUSTOMER_TO_VALIDATE", "pending"),
    "627": ("TRANSACTION_CANCEL", "cancelled"),
    "635": ("ERROR_PHONE_NUMBER_NOT_FOUND", "failure"),
    "636": ("ERROR_PHONE_NUMBER_NOT_SUPPORTED", "failure"),
    "641": ("ERROR_AMOUNT_TOO_LOW", "failure"),
    "642": ("ERROR_AMOUNT_TOO_HIGH", "failure"),
    "662": ("WAITING_CUSTOMER_PAYMENT", "pending"),
    "663": ("WAITING_CUSTOMER_OTP_CODE", "pending"),
    # unsure: one list says WAITING_CUSTOMER_PAYMENT_AT_OPERATOR_SIDE, another FRAUD_DETECTED
    "664": ("WAITING_CUSTOMER_PAYMENT_AT_OPERATOR_SIDE", "pending (meaning unsure)"),
    "804": ("OPERATOR_UNAVAILABLE", "failure"),
    "807": ("DAILY_MAX_AMOUNT_TRANSACTION_REACHED", "failure"),
    "808": ("WEEKLY_MAX_AMOUNT_TRANSACTION_REACHED", "failure"),
    "809": ("MONTHLY_MAX_AMOUNT_TRANSACTION_REACHED", "failure"),
    "810": ("DAILY_MAX_NUMBER_TRANSACTION_REACHED", "failure"),
    "811": ("WEEKLY_MAX_NUMBER_TRANSACTION_REACHED", "failure"),
    "812": ("MONTHLY_MAX_NUMBER_TRANSACTION_REACHED", "failure"),
}

#: ``data.status`` words (upper case). PENDING is seen in one SDK only.
STATUSES: Final[Mapping[str, ReportedStatus]] = {
    "ACCEPTED": ReportedStatus.SUCCEEDED,
    "REFUSED": ReportedStatus.FAILED,
    "WAITING_FOR_CUSTOMER": ReportedStatus.PENDING,
    "PENDING": ReportedStatus.PENDING,
}

#: Refusals of the credentials themselves, with what to fix.
CREDENTIAL_CODES: Final[Mapping[str, str]] = {
    "609": "CinetPay refused CINETPAY_API_KEY (AUTH_NOT_FOUND); copy it again from the back office",
    "613": "CinetPay refused CINETPAY_SITE_ID (ERROR_SITE_ID_NOTVALID); copy it again",
}

#: ``data`` keys kept in the audit trail: ids and words, no phone numbers.
_AUDITED: Final = ("status", "payment_method", "operator_id", "payment_date")


def interpret(envelope: Mapping[str, Any]) -> ProviderStatus:
    """Turn a decoded check answer into the provider's status for the core.

    An envelope without ``data`` is CinetPay refusing the request itself (bad key, unknown
    site, unknown transaction): ``CheckRefused``, or ``CinetPayUnavailable`` for 429.
    """
    code = str(envelope.get("code", "")).strip()
    message = str(envelope.get("message", ""))[:120]
    data = envelope.get("data")
    if not isinstance(data, Mapping):
        description = str(envelope.get("description", ""))[:200]
        words = f"{message} {description}".strip() or "no data in the answer"
        if code == TOO_MANY_REQUESTS:
            raise CinetPayUnavailable(code, words)
        raise CheckRefused(code or "no-code", words)
    word = str(data.get("status", "")).strip().upper()
    audit: dict[str, Any] = {"code": code, "message": message}
    audit.update({key: _short(data.get(key)) for key in _AUDITED if key in data})
    if code == SUCCESS_CODE and word == "ACCEPTED":
        return ProviderStatus(
            ReportedStatus.SUCCEEDED,
            amount=paid_amount(data),
            reason=f"CinetPay check: {code} {message}, ACCEPTED",
            data=audit,
        )
    if word == "REFUSED":
        outcome = ReportedStatus.CANCELLED if code == CANCEL_CODE else ReportedStatus.FAILED
        reason = f"CinetPay check: {code} {message}, REFUSED"
        return ProviderStatus(outcome, reason=reason, data=audit)
    return ProviderStatus(
        ReportedStatus.PENDING,
        reason=f"CinetPay check: {code} {message}, {word or 'no status'}",
        data=audit,
    )


def paid_amount(data: Mapping[str, Any]) -> Money | None:
    """``data.amount`` (a string) in ``data.currency``, parsed exactly; None if unreadable.

    None is deliberate: the core moves a success without a readable amount to REVIEW, where
    staff look at it, rather than guessing.
    """
    amount, currency = data.get("amount"), data.get("currency")
    if not isinstance(amount, str | int) or isinstance(amount, bool):
        return None
    if not isinstance(currency, str):
        return None
    try:
        return Money.parse(amount, currency.strip().upper())
    except MoneyError:
        return None


def _short(value: Any) -> str | None:
    return None if value is None else str(value)[:60]
