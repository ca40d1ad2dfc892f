"""What a ``GET /v1/payment/{id}`` answer means for a payment (facts file, section 6).

- paid ⇔ code 100 and status SUCCESS. The answer CinetPay's SDK reads carries no amount or
  currency: when they are absent the amount asked for is assumed and the audit says so; when
  present they are compared by the core (a mismatch goes to REVIEW);
- EXPIRED (2003) → expired; FAILED (2010) and the other final payer codes → failed, with
  CinetPay's status as the reason;
- INITIATED (2001), PENDING (2002) and NOT_FOUND → still pending;
- anything else → pending, with the raw code in the audit: never paid on a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from gated_delivery.api import Money, MoneyError, ProviderStatus, ReportedStatus
from gated_delivery_cinetpay.errors import CheckRefused, CinetPayUnavailable

S = ReportedStatus

#: code → (status word, what it means for us). The word must agree with the code.
CODES: Final[Mapping[str, tuple[str, ReportedStatus]]] = {
    "100": ("SUCCESS", S.SUCCEEDED),
    "2001": ("INITIATED", S.PENDING),
    "2002": ("PENDING", S.PENDING),
    "2003": ("EXPIRED", S.EXPIRED),
    "2010": ("FAILED", S.FAILED),
    "2004": ("OTP_ERROR", S.FAILED),
    "2005": ("INSUFFICIENT_BALANCE", S.FAILED),
    "2006": ("USER_NOT_FOUND", S.FAILED),
    "2007": ("USER_IS_BLOCKED", S.FAILED),
    "2008": ("OTP_EXPIRED", S.FAILED),
    "2011": ("NOT_ALLOWED", S.FAILED),
    # the payment is unknown to CinetPay (yet): the reconciler expires it in time
    "404": ("NOT_FOUND", S.PENDING),
}
OPERATION_ERROR: Final = "-1"
#: Answer keys kept in the audit trail: ids and words, never the payer (``user``).
_AUDITED: Final = ("code", "status", "transaction_id", "merchant_transaction_id")


def interpret(envelope: Mapping[str, Any], asked: Money, merchant_id: str) -> ProviderStatus:
    """The provider's status for an attempt of ``asked``, from its decoded status answer."""
    code = str(envelope.get("code", "")).strip()
    word = str(envelope.get("status", "")).strip().upper()
    echoed = envelope.get("merchant_transaction_id")
    if echoed not in (None, "", merchant_id):
        raise CheckRefused("wrong-transaction", "the status answer is about another payment")
    if code == OPERATION_ERROR:
        raise CinetPayUnavailable(code, "OPERATION_ERROR on the status request")
    audit: dict[str, Any] = {key: _short(envelope.get(key)) for key in _AUDITED if key in envelope}
    known = CODES.get(code)
    if known is None or known[0] != word:
        audit["unknown_answer"] = True
        reason = f"CinetPay status: unknown answer {code or 'no code'} {word}".strip()
        return ProviderStatus(S.PENDING, reason=reason, data=audit)
    outcome = known[1]
    reason = f"CinetPay status: {code} {word}"
    if outcome is not S.SUCCEEDED:
        return ProviderStatus(outcome, reason=reason, data=audit)
    paid: Money | None
    if envelope.get("amount") is None and envelope.get("currency") is None:
        audit["amount_source"] = "asked: the status answer carries no amount or currency"
        paid = asked
    else:
        # present but unreadable stays None: the core sends such a success to REVIEW
        audit["amount_source"] = "answer"
        paid = paid_amount(envelope)
    ref = envelope.get("transaction_id")
    return ProviderStatus(
        S.SUCCEEDED,
        amount=paid,
        provider_ref=str(ref) if ref else None,
        reason=reason,
        data=audit,
    )


def paid_amount(envelope: Mapping[str, Any]) -> Money | None:
    """``amount`` in ``currency``, parsed exactly; None when either is missing or unreadable."""
    amount, currency = envelope.get("amount"), envelope.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, str | int):
        return None
    if not isinstance(currency, str):
        return None
    try:
        return Money.parse(str(amount), currency.strip().upper())
    except MoneyError:
        return None


def _short(value: Any) -> str | None:
    return None if value is None else str(value)[:60]
