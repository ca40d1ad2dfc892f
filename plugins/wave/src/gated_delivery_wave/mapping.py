"""From Wave's checkout session object to what the core understands (C2/INF mapping).

checkout_status + payment_status     reported           attempt
complete + succeeded                 SUCCEEDED, amount  SUCCEEDED (REVIEW on mismatch)
complete + succeeded, amount unread  REVIEW             REVIEW, raw fields audited
open + processing                    PENDING            stays PENDING (the buyer may
                                                        retry after a payment_failed;
                                                        Wave's last_payment_error is
                                                        shown on the order page)
expired + anything but succeeded     EXPIRED            EXPIRED, order FAILED
any other combination                REVIEW             REVIEW, raw fields audited
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from gated_delivery.api import ProviderStatus, ReportedStatus
from gated_delivery_wave import protocol
from gated_delivery_wave.amounts import parse_amount

#: Session fields kept in the audit trail; ``restrict_payer_mobile`` (a phone number) and
#: the URLs are left out.
AUDITED_FIELDS: Final = (
    "id",
    "checkout_status",
    "payment_status",
    "amount",
    "currency",
    "client_reference",
    "transaction_id",
    "when_created",
    "when_expires",
    "when_completed",
)


#: The longest text of Wave's shown to a buyer (the core bounds it again).
BUYER_TEXT_LENGTH: Final = 160


def _text(value: object, limit: int = 80) -> str | None:
    return str(value)[:limit] if value is not None else None


def audited(session: Mapping[str, Any]) -> dict[str, str | None]:
    """The session's fields fit for the audit trail, as short strings."""
    fields = {f"wave_{name}": _text(session.get(name)) for name in AUDITED_FIELDS}
    error = session.get("last_payment_error")
    fields["wave_last_payment_error"] = (
        _text(error.get("code")) if isinstance(error, Mapping) else None
    )
    return fields


def last_error(session: Mapping[str, Any]) -> str:
    """``code: message`` of the buyer's last failed try, or an empty string."""
    error = session.get("last_payment_error")
    if not isinstance(error, Mapping) or not error.get("code"):
        return ""
    message = _text(error.get("message"), 160) or ""
    return f"{_text(error.get('code'))}: {message}".rstrip(": ")


def buyer_text(session: Mapping[str, Any]) -> str:
    """What the buyer is told about their last failed try: Wave's ``message`` (written for
    payers), else its error code; empty when no try failed. Text only, never the raw object."""
    error = session.get("last_payment_error")
    if not isinstance(error, Mapping):
        return ""
    for key in ("message", "code"):
        value = error.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:BUYER_TEXT_LENGTH]
    return ""


def map_session(session: Mapping[str, Any]) -> ProviderStatus:
    """The core's status for a session, with the fields staff need in ``data``."""
    checkout, payment = session.get("checkout_status"), session.get("payment_status")
    data = audited(session)
    words = f"{_text(checkout, 20)} + {_text(payment, 20)}"
    txn = _text(session.get("transaction_id"))
    if checkout == protocol.COMPLETE and payment == protocol.SUCCEEDED:
        amount = parse_amount(session.get("amount"), session.get("currency"))
        if amount is None:  # paid, but not in a form we can compare with the order
            return ProviderStatus(
                ReportedStatus.REVIEW,
                provider_ref=txn,
                reason="Wave reports complete + succeeded with an unreadable amount",
                data={**data, "wave_review": "unreadable amount or currency"},
            )
        return ProviderStatus(
            ReportedStatus.SUCCEEDED,
            amount=amount,
            provider_ref=txn,
            reason="Wave reports complete + succeeded",
            data=data,
        )
    if checkout == protocol.OPEN and payment == protocol.PROCESSING:
        failed = last_error(session)
        reason = f"the buyer's last try failed ({failed}); they may try again" if failed else ""
        return ProviderStatus(
            ReportedStatus.PENDING,
            reason=reason or "Wave reports open",
            data=data,
            buyer_message=buyer_text(session),
        )
    if checkout == protocol.EXPIRED and payment != protocol.SUCCEEDED:
        return ProviderStatus(ReportedStatus.EXPIRED, reason=f"Wave reports {words}", data=data)
    return ProviderStatus(
        ReportedStatus.REVIEW,
        provider_ref=txn,
        reason=f"Wave reports {words}: staff must look",
        data={**data, "wave_review": f"unexpected {words}"},
    )


def pick_session(sessions: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The session that decides an attempt when its id was never stored: a paid one first,
    then an open one, then the newest; None when Wave has none."""
    if not sessions:
        return None

    def rank(s: dict[str, Any]) -> tuple[int, str]:
        paid = s.get("payment_status") == protocol.SUCCEEDED
        is_open = s.get("checkout_status") == protocol.OPEN
        return (2 if paid else 1 if is_open else 0, str(s.get("when_created", "")))

    best = max(sessions, key=rank)
    return dict(best)


def redacted_event(event: Mapping[str, Any]) -> str:
    """The event as stored for staff: its id and type, and the session's audited fields."""
    data = event.get("data")
    kept: dict[str, Any] = {"id": _text(event.get("id"), 100), "type": _text(event.get("type"))}
    if isinstance(data, Mapping):
        kept["data"] = audited(data)
    return json.dumps(kept, sort_keys=True)
