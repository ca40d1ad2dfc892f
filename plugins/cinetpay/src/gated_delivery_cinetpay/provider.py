"""The CinetPay ``PaymentProvider``: open a hosted checkout, authenticate webhooks, check."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlencode

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
from gated_delivery_cinetpay import rules, status, xtoken
from gated_delivery_cinetpay.api import DEFAULT_CHECK_RETRY_DELAYS, DEFAULT_TIMEOUT, CheckoutApi
from gated_delivery_cinetpay.errors import PROVIDER_NAME, AmountNotAccepted, CheckRefused
from gated_delivery_cinetpay.settings import CinetPayConfig

#: Notification fields kept out of the stored copy: the opaque CinetPay token.
_REDACTED: Final = frozenset({"signature"})
#: Personal data: only the last digits of the payer's phone number are kept.
_MASKED: Final = frozenset({"cel_phone_num"})


class CinetPay:
    """CinetPay's hosted checkout (Checkout API v2) as a gated-delivery payment provider."""

    name: str = PROVIDER_NAME  # in URLs and in the database: never rename it
    display_name: str = "CinetPay (Mobile Money, carte)"

    def __init__(
        self,
        config: CinetPayConfig,
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
        self.api = CheckoutApi(
            config, timeout=timeout, check_retry_delays=check_retry_delays, transport=transport
        )

    def __repr__(self) -> str:
        return f"CinetPay(api_url={self.config.api_url!r}, site_id={self.config.site_id!r})"

    async def check_credentials(self) -> str:
        """Check an unknown transaction (``gated-delivery check``): 609 or 613 refuse the keys.

        The legacy API has no login: a status check is the one harmless authenticated call.
        CinetPay's answer for an unknown transaction is undocumented; anything but a refusal
        of the API key (609) or the site id (613) counts as accepted.
        """
        envelope = await self.api.check("gd-credential-check")
        code = str(envelope.get("code", "")).strip()
        if code in status.CREDENTIAL_CODES:
            raise CheckRefused(code, status.CREDENTIAL_CODES[code])
        return f"CinetPay (legacy API) did not refuse the API key and site id (answer {code})"

    def refuses_amount(self, amount: Money) -> str | None:
        """Why CinetPay cannot take ``amount`` (currency, whole, multiple of 5, minimum)."""
        try:
            rules.amount_to_send(amount)
        except AmountNotAccepted as exc:
            return exc.provider_message
        return None

    async def start_payment(self, request: PaymentRequest) -> PaymentStart:
        """Check the amount rules, then ``POST /v2/payment`` once and send the buyer there."""
        amount = rules.amount_to_send(request.amount)
        transaction = rules.transaction_id(request.attempt_id)
        fields: dict[str, Any] = {
            "transaction_id": transaction,
            "amount": amount,
            "currency": request.amount.currency,
            "description": rules.description(request.description),
            "notify_url": request.notify_url,
            "return_url": request.return_url,
            "channels": self.config.channels,
            # echoed back as cpm_custom and data.metadata: the public order id, nothing personal
            "metadata": request.order_id,
        }
        if self.config.lang:
            fields["lang"] = self.config.lang
        if self.config.channels in rules.CARD_CHANNELS:
            fields.update(rules.customer_fields(request, required=self.config.channels))
        opened = await self.api.open_payment(fields)
        return PaymentStart(
            redirect_url=opened.payment_url,
            provider_ref=opened.payment_token,
            provider_data={"transaction_id": transaction, "payment_token": opened.payment_token},
        )

    async def verify_notification(
        self, raw: RawNotification, find_attempt: FindAttempt
    ) -> NotificationRef:
        """Recompute the ``x-token`` HMAC of the posted fields; refuse anything else.

        The fields may come as a form (what CinetPay's PHP sample reads) or as a JSON object of
        strings: the x-token is computed the same way over the same documented field order.

        Returns the attempt named by ``cpm_trans_id``; whether it is paid is for the check.
        """
        received = raw.headers.get(xtoken.HEADER, "")
        if not received:
            raise NotificationRejected("missing x-token header")
        try:
            fields = await xtoken.read_form(raw.content_type, raw.headers, raw.body)
        except xtoken.UnreadableForm as exc:
            raise NotificationRejected(f"unreadable CinetPay notification: {exc}") from None
        if not xtoken.matches(self.config.secret_key.get_secret_value(), fields, received):
            raise NotificationRejected("x-token does not match the notification")
        values = dict(fields)
        if values.get("cpm_site_id", "") != self.config.site_id:
            raise NotificationRejected("the notification is for another CinetPay site id")
        transaction = values.get("cpm_trans_id", "")
        if not transaction:
            raise NotificationRejected("the notification names no cpm_trans_id")
        content = hashlib.sha256(xtoken.signed_string(values).encode()).hexdigest()[:32]
        return NotificationRef(
            attempt_id=rules.attempt_id(transaction),
            # the same delivery twice shares this key; a new status (new message or date) not
            dedupe_key=f"{transaction}:{content}",
            body_redacted=redact(fields),
        )

    async def check_status(self, attempt: AttemptView) -> ProviderStatus:
        """``POST /v2/payment/check`` for the attempt's transaction, read by ``status``."""
        transaction = str(
            attempt.provider_data.get("transaction_id") or rules.transaction_id(attempt.attempt_id)
        )
        return status.interpret(await self.api.check(transaction))


def redact(fields: Sequence[xtoken.Field]) -> str:
    """The notification as stored for staff: CinetPay's token removed, the phone masked."""
    kept: list[tuple[str, str]] = []
    for name, value in fields:
        if name in _REDACTED:
            kept.append((name, "[redacted]"))
        elif name in _MASKED:
            kept.append((name, "*" * max(len(value) - 2, 0) + value[-2:]))
        else:
            kept.append((name, value))
    return urlencode(kept)
