"""The CinetPay ``PaymentProvider`` over the current API: log in, open, authenticate, check."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

import httpx

from gated_delivery.api import (
    AttemptView,
    FindAttempt,
    Money,
    NotificationRef,
    NotificationRejected,
    PaymentRequest,
    PaymentStart,
    ProviderStatus,
    RawNotification,
)
from gated_delivery_cinetpay.errors import PROVIDER_NAME
from gated_delivery_cinetpay.settings import CinetPayV1Config
from gated_delivery_cinetpay.v1 import rules, status
from gated_delivery_cinetpay.v1.api import (
    DEFAULT_CHECK_RETRY_DELAYS,
    DEFAULT_TIMEOUT,
    CinetPayApi,
)

#: Where the keyed hash of the attempt's notify_token is kept in ``provider_data``.
TOKEN_HASH: Final = "notify_token_hash"  # noqa: S105 - a key name, not a secret
#: A notification body larger than this is not CinetPay's (it holds four short fields).
MAX_BODY: Final = 16 * 1024


class CinetPayV1:
    """CinetPay's current API (OAuth login, ``notify_token``) as a payment provider."""

    name: str = PROVIDER_NAME  # the same name as the legacy API: a shop switches by settings
    display_name: str = "CinetPay (Mobile Money, carte)"

    def __init__(
        self,
        config: CinetPayV1Config,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        check_retry_delays: Sequence[float] = DEFAULT_CHECK_RETRY_DELAYS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        if config.is_sandbox:
            self.display_name = "CinetPay (sandbox)"
        # CinetPay documents no payment-page lifetime: past this, the reconciler calls a
        # still-waiting payment EXPIRED (a late success is still accepted afterwards)
        self.session_lifetime = timedelta(minutes=config.session_minutes)
        self.api = CinetPayApi(
            config, timeout=timeout, check_retry_delays=check_retry_delays, transport=transport
        )

    def __repr__(self) -> str:
        return f"CinetPayV1(api_url={self.config.api_url!r})"

    async def check_credentials(self) -> str:
        """Log in anew (``gated-delivery check``); ``LoginRefused`` names what to fix."""
        self.api.tokens.forget()
        await self.api.login()
        return "CinetPay (current API) accepted the API key and password at login"

    def refuses_amount(self, amount: Money) -> str | None:
        """Why CinetPay cannot take ``amount`` (currency, whole units, 100 … 2 500 000)."""
        return rules.refusal(amount)

    async def start_payment(self, request: PaymentRequest) -> PaymentStart:
        """``POST /v1/payment`` and send the buyer to its ``payment_url``."""
        merchant_id = rules.merchant_transaction_id(request.attempt_id)
        first, last = rules.split_name(request.buyer_name)
        body: dict[str, Any] = {
            "currency": request.amount.currency,
            "merchant_transaction_id": merchant_id,
            "amount": rules.amount_to_send(request.amount),
            "lang": self.config.lang,
            "designation": rules.designation(request.description),
            "client_email": request.buyer_email,
            "client_first_name": first,
            "client_last_name": last,
            "success_url": request.return_url,
            "failed_url": request.cancel_url,
            "notify_url": request.notify_url,
            "channel": self.config.channel,
        }
        opened = await self.api.open_payment(body)
        return PaymentStart(
            redirect_url=opened.payment_url,
            provider_ref=opened.transaction_id,
            provider_data={
                "api": "v1",
                "merchant_transaction_id": merchant_id,
                "transaction_id": opened.transaction_id,
                "payment_token": opened.payment_token,
                TOKEN_HASH: self._token_hash(opened.notify_token),
            },
        )

    async def verify_notification(
        self, raw: RawNotification, find_attempt: FindAttempt
    ) -> NotificationRef:
        """Compare the body's ``notify_token`` with the one kept for its attempt.

        The token is compared as a keyed hash, in constant time; a token given for another
        attempt, an unknown ``merchant_transaction_id`` or a CinetPay ``transaction_id`` other
        than the one the initialisation returned are refused alike.
        """
        fields = _read_json(raw)
        merchant_id = _text(fields, "merchant_transaction_id")
        received = _text(fields, "notify_token")
        transaction = _text(fields, "transaction_id")
        attempt = await find_attempt(merchant_id)
        expected = "" if attempt is None else str(attempt.provider_data.get(TOKEN_HASH, ""))
        given = self._token_hash(received)
        # the comparison runs whether or not the attempt exists: timing tells nothing
        if not hmac.compare_digest(given.encode(), expected.encode()) or attempt is None:
            raise NotificationRejected("notify_token does not match the named payment")
        if attempt.provider != self.name:
            raise NotificationRejected("the named payment is not a CinetPay payment")
        known = str(attempt.provider_data.get("transaction_id", ""))
        if known and not hmac.compare_digest(known.encode(), transaction.encode()):
            raise NotificationRejected("the notification names another CinetPay transaction")
        digest = hashlib.sha256(raw.body).hexdigest()[:16]
        return NotificationRef(
            attempt_id=merchant_id,
            # one key per delivered body: CinetPay's repeats of it are dropped
            dedupe_key=f"v1:{merchant_id}:{digest}",
            body_redacted=redact(fields),
        )

    async def check_status(self, attempt: AttemptView) -> ProviderStatus:
        """``GET /v1/payment/{merchant_transaction_id}``, read by ``status.interpret``."""
        merchant_id = str(
            attempt.provider_data.get("merchant_transaction_id")
            or rules.merchant_transaction_id(attempt.attempt_id)
        )
        answer = await self.api.status(merchant_id)
        return status.interpret(answer, attempt.amount, merchant_id)

    def _token_hash(self, notify_token: str) -> str:
        key = self.config.token_key.get_secret_value().encode()
        return hmac.new(key, notify_token.encode(), hashlib.sha256).hexdigest()


def _read_json(raw: RawNotification) -> Mapping[str, Any]:
    if raw.method != "POST" or len(raw.body) > MAX_BODY:
        raise NotificationRejected("a CinetPay notification is a short JSON POST")
    try:
        decoded = json.loads(raw.body)
    except (UnicodeDecodeError, ValueError):
        raise NotificationRejected("the notification body is not JSON") from None
    if not isinstance(decoded, dict):
        raise NotificationRejected("the notification body is not a JSON object")
    return decoded


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise NotificationRejected(f"the notification has no {name}")
    return value


def redact(fields: Mapping[str, Any]) -> str:
    """The notification as stored for staff: the token removed, the payer reduced to a hint."""
    kept: dict[str, Any] = {
        key: fields[key] for key in ("merchant_transaction_id", "transaction_id") if key in fields
    }
    kept["notify_token"] = "[redacted]"  # noqa: S105 - the placeholder, not a token
    user = fields.get("user")
    if isinstance(user, dict):
        phone = str(user.get("phone_number", ""))
        kept["user"] = {"phone_number": "*" * max(len(phone) - 2, 0) + phone[-2:]}
    return json.dumps(kept, sort_keys=True)
