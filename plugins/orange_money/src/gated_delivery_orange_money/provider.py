"""The Orange Money Web Payment provider: open a session, authenticate its notification by the
``notif_token`` it gave us, and ask ``transactionstatus`` where the payment stands.

Orange's notification carries no signature, no order id and no amount: only a status, the
``notif_token`` handed out at initialisation, and a transaction id. So the notification URL
we give Orange carries our own ids in its query (``order`` from the core, ``tx`` the attempt),
and the token stored on the attempt is what authenticates it.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

import httpx

from gated_delivery.api import (
    AttemptView,
    FindAttempt,
    Money,
    MoneyError,
    NotificationRef,
    NotificationRejected,
    PaymentRequest,
    PaymentStart,
    ProviderStatus,
    RawNotification,
    ReportedStatus,
    parse_json,
)
from gated_delivery_orange_money import protocol
from gated_delivery_orange_money.client import DEFAULT_TIMEOUT, Clock, OrangeMoneyClient
from gated_delivery_orange_money.errors import (
    PROVIDER_NAME,
    OrangeMoneyError,
    OrangeMoneyRequestInvalid,
)
from gated_delivery_orange_money.settings import OrangeMoneySettings

log = logging.getLogger(__name__)

#: What each ``transactionstatus`` word means for the core.
STATUSES: Final[Mapping[str, ReportedStatus]] = {
    protocol.INITIATED: ReportedStatus.PENDING,
    protocol.PENDING: ReportedStatus.PENDING,
    protocol.SUCCESS: ReportedStatus.SUCCEEDED,
    protocol.FAILED: ReportedStatus.FAILED,
    protocol.EXPIRED: ReportedStatus.EXPIRED,
}
#: The query parameter of our notification URL naming the attempt (the core adds ``order``).
ATTEMPT_PARAM: Final = "tx"
#: Keys of ``provider_data`` on the attempt.
PAY_TOKEN: Final = "pay_token"  # noqa: S105 - a key name, not a secret
NOTIF_TOKEN: Final = "notif_token"  # noqa: S105 - a key name, not a secret
OM_ORDER_ID: Final = "om_order_id"
OM_AMOUNT: Final = "om_amount"
#: Where a SUCCESS's confirmed amount comes from, recorded with the check (``amount_source``).
AMOUNT_ASKED: Final = "status request"  # Orange answered without an amount, as documented
AMOUNT_REPORTED: Final = "status answer"
#: Notification fields kept with their value in the stored copy; others keep only their name.
_KEPT_FIELDS: Final = ("status", "txnid")
_REDACTED: Final = "[redacted]"


def _check_length(field: str, value: str, limit: int, fix: str) -> None:
    if len(value) > limit:
        raise OrangeMoneyRequestInvalid(
            "field_too_long",
            f"{field} is {len(value)} characters; Orange Money accepts at most {limit} ({fix})",
        )


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query string."""
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def read_notification(raw: RawNotification) -> dict[str, str]:
    """The notification's fields, from JSON or from a form (seen once in production code).

    Orange's guide shows JSON; one Guinea handler reads form fields. Which one a country sends
    is an open question, so both are accepted whatever the ``Content-Type`` says.
    """
    fields: Any = None
    if raw.content_type != "application/x-www-form-urlencoded":
        try:
            fields = parse_json(raw.body)  # a deep body is refused, not a RecursionError
        except (ValueError, UnicodeDecodeError):
            fields = None
    if not isinstance(fields, dict):
        try:
            fields = dict(parse_qsl(raw.body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            fields = {}
    return {
        str(key): "" if value is None else str(value)
        for key, value in fields.items()
        if value is None or (isinstance(value, str | int) and not isinstance(value, bool))
    }


class OrangeMoney:
    """The ``PaymentProvider`` for Orange Money Web Payment (one account, one country)."""

    name: str = PROVIDER_NAME  # in URLs and in the database: never rename it
    display_name: str = "Orange Money"
    #: Orange's session lasts 10 minutes and an abandoned one stays INITIATED for ever, so
    #: the reconciler makes a last check 15 minutes in and expires what is still pending.
    session_lifetime: timedelta = timedelta(minutes=15)

    def __init__(
        self,
        settings: OrangeMoneySettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Clock = time.monotonic,
    ) -> None:
        self.settings = settings
        self.client = OrangeMoneyClient(settings, transport=transport, timeout=timeout, clock=clock)

    def __repr__(self) -> str:
        return f"OrangeMoney(api_url={self.settings.api_url!r}, country={self.settings.country!r})"

    # --- amounts

    async def check_credentials(self) -> str:
        """Ask for a new access token (``gated-delivery check``); errors say why not."""
        self.client.tokens.forget()
        await self.client.tokens.get()
        return f"Orange Money issued an access token (country {self.settings.country})"

    def api_amount(self, amount: Money) -> int:
        """The whole-unit integer Orange takes for ``amount``; refuses what it cannot take.

        Outside the ``dev`` sandbox the order's currency must be the account's (``OM_CURRENCY``);
        in ``dev`` the test currency OUV stands for the order's currency.
        """
        currency = self.settings.api_currency
        if currency != protocol.SANDBOX_CURRENCY and amount.currency != currency:
            raise OrangeMoneyRequestInvalid(
                "currency",
                f"this Orange Money account takes {currency} (OM_CURRENCY), not {amount.currency}",
            )
        whole, fraction = divmod(amount.amount_minor, int(10**amount.exponent))
        if fraction:
            raise OrangeMoneyRequestInvalid(
                "amount", f"Orange Money takes whole {amount.currency} amounts, not {amount}"
            )
        if whole <= 0:
            raise OrangeMoneyRequestInvalid("amount", f"{amount} is not an amount to charge")
        return whole

    def paid_amount(self, attempt: AttemptView, reported: object) -> Money:
        """What was paid: the amount in the answer if there is one, parsed exactly, else the
        amount the status call was made with (Orange answers for the triple order id, amount
        and pay token; its documented answer has no amount)."""
        if reported is None:
            asked = attempt.provider_data.get(OM_AMOUNT)
            if not isinstance(asked, int) or isinstance(asked, bool):
                return attempt.amount
            return Money(asked * int(10**attempt.amount.exponent), attempt.amount.currency)
        if not isinstance(reported, str | int) or isinstance(reported, bool):
            raise OrangeMoneyError(
                "bad_response", f"the status answer's amount is a {type(reported).__name__}"
            )
        try:
            return Money.parse(reported, attempt.amount.currency)
        except MoneyError as exc:
            raise OrangeMoneyError("bad_response", f"unreadable amount: {exc}") from None

    # --- the PaymentProvider protocol

    async def start_payment(self, request: PaymentRequest) -> PaymentStart:
        """Open a WebPay session and send the buyer to its ``payment_url``.

        Our attempt id is Orange's ``order_id`` (unique for every try, as Orange requires);
        the notification URL gets ``tx=<attempt id>`` because the notification names nothing.
        Lengths are checked before the call. A timed-out call is not retried: the buyer
        starts a new attempt, which gets a new ``order_id``.
        """
        settings = self.settings
        notif_url = with_query(request.notify_url, **{ATTEMPT_PARAM: request.attempt_id})
        _check_length("order_id", request.attempt_id, protocol.MAX_ORDER_ID, "a shorter attempt id")
        for field, url in (
            ("return_url", request.return_url),
            ("cancel_url", request.cancel_url),
            ("notif_url", notif_url),
        ):
            _check_length(field, url, protocol.MAX_URL, "use a shorter GD_BASE_URL")
        amount = self.api_amount(request.amount)
        body: dict[str, Any] = {
            "merchant_key": settings.merchant_key.get_secret_value()
            if settings.merchant_key
            else "",
            "currency": settings.api_currency,
            "order_id": request.attempt_id,
            "amount": amount,
            "return_url": request.return_url,
            "cancel_url": request.cancel_url,
            "notif_url": notif_url,
            "lang": settings.lang,
        }
        if settings.reference:  # optional: shown to the buyer as the merchant's name
            body["reference"] = settings.reference
        data = await self.client.webpay("webpayment", body)
        pay_token, payment_url, notif_token = (
            data.get("pay_token"),
            data.get("payment_url"),
            data.get("notif_token"),
        )
        if not all(isinstance(v, str) and v for v in (pay_token, payment_url, notif_token)):
            # without notif_token the notification could not be authenticated: refuse now
            raise OrangeMoneyError(
                "bad_response", "the webpayment answer lacks pay_token, payment_url or notif_token"
            )
        log.info("orange money session opened for attempt %s", request.attempt_id)
        return PaymentStart(
            redirect_url=str(payment_url),
            provider_ref=None,  # Orange's txnid comes with the status; pay_token stays private
            provider_data={
                PAY_TOKEN: pay_token,
                NOTIF_TOKEN: notif_token,
                OM_ORDER_ID: request.attempt_id,
                OM_AMOUNT: amount,
            },
        )

    async def verify_notification(
        self, raw: RawNotification, find_attempt: FindAttempt
    ) -> NotificationRef:
        """Accept the notification only if its ``notif_token`` is the one stored for the
        attempt named in our URL, compared in constant time."""
        attempt_id = raw.query.get(ATTEMPT_PARAM, "")
        if not attempt_id:
            raise NotificationRejected(f"the notification URL names no attempt (?{ATTEMPT_PARAM}=)")
        attempt = await find_attempt(attempt_id)
        if attempt is None or attempt.provider != self.name:
            raise NotificationRejected("the notification names an unknown Orange Money payment")
        if raw.query.get("order", "") != attempt.order_id:
            raise NotificationRejected("the notification's order does not match its payment")
        fields = read_notification(raw)
        received = str(fields.get(NOTIF_TOKEN, ""))
        stored = str(attempt.provider_data.get(NOTIF_TOKEN, ""))
        if not received:
            raise NotificationRejected("the notification has no notif_token")
        if not stored or not hmac.compare_digest(received.encode(), stored.encode()):
            raise NotificationRejected("the notif_token does not match this payment's")
        status = str(fields.get("status", ""))
        txnid = str(fields.get("txnid", ""))
        redacted = {
            key: (str(value)[:100] if key in _KEPT_FIELDS else _REDACTED)
            for key, value in fields.items()
        }
        return NotificationRef(
            attempt_id=attempt.attempt_id,
            dedupe_key=f"{attempt.attempt_id}:{txnid}:{status}",
            body_redacted=json.dumps(redacted, sort_keys=True),
        )

    async def check_status(self, attempt: AttemptView) -> ProviderStatus:
        """Ask ``transactionstatus`` with the order id, amount and pay token of the start."""
        data = attempt.provider_data
        pay_token = data.get(PAY_TOKEN)
        if not isinstance(pay_token, str) or not pay_token:
            raise OrangeMoneyError(
                "no_pay_token",
                f"attempt {attempt.attempt_id} has no pay_token; it never reached Orange Money",
            )
        order_id = str(data.get(OM_ORDER_ID) or attempt.attempt_id)
        amount = data.get(OM_AMOUNT)
        if not isinstance(amount, int):
            amount = self.api_amount(attempt.amount)
        answer = await self.client.webpay(
            "transactionstatus", {"order_id": order_id, "amount": amount, "pay_token": pay_token}
        )
        word = str(answer.get("status", ""))
        echoed = answer.get("order_id")
        if echoed is not None and str(echoed) != order_id:
            raise OrangeMoneyError(
                "bad_response", f"asked about {order_id}, Orange Money answered about {echoed}"
            )
        txnid = answer.get("txnid")
        txnid = str(txnid) if txnid else None
        details = {"om_status": word[:40], "txnid": txnid}
        reported = STATUSES.get(word)
        if reported is None:
            # CANCELLED appears only in one library's enum; an unknown word is not final
            log.warning(
                "orange money reported unknown status %r for attempt %s; still pending",
                word[:40],
                attempt.attempt_id,
            )
            return ProviderStatus(
                ReportedStatus.PENDING,
                reason=f"unknown Orange Money status {word[:40]!r}",
                data=details,
            )
        if reported is ReportedStatus.SUCCEEDED:
            paid = answer.get("amount")
            # Orange's documented answer has no amount: say in the audit which one is confirmed
            details["amount_source"] = AMOUNT_ASKED if paid is None else AMOUNT_REPORTED
            return ProviderStatus(
                reported,
                amount=self.paid_amount(attempt, paid),
                provider_ref=txnid,
                reason="Orange Money reports SUCCESS",
                data=details,
            )
        return ProviderStatus(
            reported, provider_ref=txnid, reason=f"Orange Money reports {word}", data=details
        )
