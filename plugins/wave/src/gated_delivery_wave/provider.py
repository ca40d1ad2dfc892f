"""The Wave Checkout provider: open a session, verify Wave's signed webhooks, and ask Wave
where the session stands.

Wave's webhook URL is registered once in the Business Portal, so it names nothing of ours:
the event's session carries our attempt id as ``client_reference``, and the session id
stored at the start must match the event's. The webhook is only a hint; ``GET`` of the
session decides (``mapping.py``).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

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
    ReportedStatus,
)
from gated_delivery_wave import protocol, signature
from gated_delivery_wave.amounts import api_amount
from gated_delivery_wave.client import DEFAULT_TIMEOUT, TIMEOUT, WaveClient
from gated_delivery_wave.errors import (
    PROVIDER_NAME,
    WaveError,
    WaveRequestInvalid,
    WaveUnavailable,
)
from gated_delivery_wave.mapping import map_session, pick_session, redacted_event
from gated_delivery_wave.settings import WaveSettings

log = logging.getLogger(__name__)

#: Keys of ``provider_data`` on the attempt.
SESSION_ID: Final = "session_id"
WAVE_AMOUNT: Final = "wave_amount"
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def check_redirect_url(field: str, url: str) -> None:
    """Wave takes only HTTPS success and error URLs (C2): refuse others before sending."""
    if urlsplit(url).scheme == "https":
        return
    raise WaveRequestInvalid(
        "insecure_url", f"{field} must be an https:// address; set GD_BASE_URL to one"
    )


class Wave:
    """The ``PaymentProvider`` for Wave's Checkout API (one wallet, one API key)."""

    name: str = PROVIDER_NAME  # in URLs and in the database: never rename it
    display_name: str = "Wave"
    #: Wave closes a session 30 min after creation (C2); the reconciler expires one still
    #: open 5 minutes later, at Wave first, so a late payment cannot slip in after.
    session_lifetime: timedelta = protocol.SESSION_LIFETIME + timedelta(minutes=5)

    def __init__(
        self,
        settings: WaveSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Clock = _utc_now,
    ) -> None:
        self.settings = settings
        self.client = WaveClient(
            settings, transport=transport, timeout=timeout, now=lambda: clock().timestamp()
        )
        self._clock = clock

    def __repr__(self) -> str:
        return f"Wave(api_url={self.settings.api_url!r})"

    # --- start

    def refuses_amount(self, amount: Money) -> str | None:
        """Why Wave cannot take ``amount`` (a currency it has no wallet in), or None.

        The core then leaves Wave out of that order's checkout.
        """
        try:
            api_amount(amount)
        except WaveRequestInvalid as exc:
            return exc.provider_message
        return None

    async def start_payment(self, request: PaymentRequest) -> PaymentStart:
        """Open a checkout session and send the buyer to its ``wave_launch_url``.

        ``client_reference`` is our attempt id. Wave documents no ``Idempotency-Key`` for
        checkout (?), so a create that timed out is not repeated blindly: the sessions with
        our reference are searched first and an open one is reused.
        """
        if self.settings.api_url == protocol.DEFAULT_API_URL:  # a simulator checks for itself
            check_redirect_url("success_url", request.return_url)
            check_redirect_url("error_url", request.cancel_url)
        body: dict[str, Any] = {
            "amount": api_amount(request.amount),
            "currency": request.amount.currency,
            "client_reference": request.attempt_id,
            "success_url": request.return_url,
            "error_url": request.cancel_url,
        }
        if self.settings.aggregated_merchant_id:
            body["aggregated_merchant_id"] = self.settings.aggregated_merchant_id
        try:
            session = await self.client.create_session(body)
        except WaveUnavailable as exc:
            if exc.code != TIMEOUT:
                raise
            log.warning("wave create timed out for attempt %s; searching", request.attempt_id)
            session = await self._recover(body)
        session_id, launch_url = session.get("id"), session.get("wave_launch_url")
        if not isinstance(session_id, str) or not session_id or not isinstance(launch_url, str):
            raise WaveError("bad_response", "the created session has no id or wave_launch_url")
        log.info("wave session opened for attempt %s", request.attempt_id)
        return PaymentStart(
            redirect_url=launch_url,
            provider_ref=None,  # Wave's transaction_id arrives with the payment
            provider_data={SESSION_ID: session_id, WAVE_AMOUNT: body["amount"]},
        )

    async def _recover(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """After a timed-out create: reuse our open session, else create once more."""
        found = await self.client.search_sessions(str(body["client_reference"]))
        open_ones = [
            s
            for s in found
            if s.get("checkout_status") == protocol.OPEN and s.get("amount") == body["amount"]
        ]
        if open_ones:
            keep, *extras = open_ones
            for extra in extras:  # two creates got through: keep one, close the others
                await self._expire_quietly(str(extra.get("id", "")))
            return keep
        return await self.client.create_session(body)

    async def _expire_quietly(self, session_id: str) -> None:
        try:
            await self.client.expire_session(session_id)
        except WaveError as exc:
            if exc.http_status != httpx.codes.CONFLICT:
                raise
            # 409: completed (or, on some accounts, already expired: ?); GET tells which

    # --- webhook

    def _authenticate(self, raw: RawNotification) -> None:
        secret = self.settings.secret("webhook_secret").encode()
        if self.settings.webhook_strategy == "shared":
            header = raw.headers.get("authorization", "")
            given = header[7:].encode() if header.startswith("Bearer ") else b""
            if not given or not hmac.compare_digest(given, secret):
                raise NotificationRejected("the webhook's Authorization is not the shared secret")
            return
        try:
            signature.verify(
                secret,
                raw.headers.get(protocol.SIGNATURE_HEADER, ""),
                raw.body,
                now=self._clock().timestamp(),
                tolerance_seconds=self.settings.webhook_tolerance_seconds,
            )
        except signature.SignatureInvalid as exc:
            raise NotificationRejected(str(exc)) from None

    async def verify_notification(
        self, raw: RawNotification, find_attempt: FindAttempt
    ) -> NotificationRef:
        """Verify the webhook before reading it, then tie it to our attempt and session.

        Events of other types (and sessions that are not ours) are kept for the record and
        queue nothing: Wave gets its 200 and stops retrying.
        """
        self._authenticate(raw)
        try:
            event = json.loads(raw.body)
        except (ValueError, UnicodeDecodeError):
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise NotificationRejected("the webhook body is not a Wave event {id, type, data}")
        key = f"wave:event:{event['id'][:100]}"
        data = event.get("data")
        reference = data.get("client_reference") if isinstance(data, dict) else None
        if event.get("type") not in protocol.CHECKOUT_EVENTS or not isinstance(reference, str):
            return NotificationRef("", key, redacted_event(event))
        attempt = await find_attempt(reference)
        if attempt is None or attempt.provider != self.name:
            log.info("wave event %s names no payment of ours; kept, ignored", event["id"][:40])
            return NotificationRef("", key, redacted_event(event))
        stored = attempt.provider_data.get(SESSION_ID)
        session_id = data.get("id") if isinstance(data, dict) else None
        if stored and not (
            isinstance(session_id, str) and hmac.compare_digest(session_id, str(stored))
        ):
            raise NotificationRejected("the event's session is not the one opened for its payment")
        return NotificationRef(attempt.attempt_id, key, redacted_event(event))

    # --- check

    async def _session_of(self, attempt: AttemptView) -> dict[str, Any] | None:
        session_id = attempt.provider_data.get(SESSION_ID)
        if isinstance(session_id, str) and session_id:
            return await self.client.get_session(session_id)
        return pick_session(await self.client.search_sessions(attempt.attempt_id))

    async def check_status(self, attempt: AttemptView) -> ProviderStatus:
        """GET the session (or search by ``client_reference`` when its id is missing).

        A session still open past ``session_lifetime`` is expired at Wave first, so that
        the buyer cannot pay it after we have called it EXPIRED.
        """
        session = await self._session_of(attempt)
        if session is None:
            return ProviderStatus(
                ReportedStatus.PENDING, reason="Wave has no session with this reference yet"
            )
        echoed = session.get("client_reference")
        if echoed is not None and echoed != attempt.attempt_id:
            raise WaveError("bad_response", "Wave answered about another payment's session")
        past = self._clock() >= attempt.created_at + self.session_lifetime
        if session.get("checkout_status") == protocol.OPEN and past:
            session_id = str(session.get("id", ""))
            log.info("expiring wave session of attempt %s at Wave", attempt.attempt_id)
            await self._expire_quietly(session_id)
            session = await self.client.get_session(session_id)
        return map_session(session)

    # --- refund (the core's optional RefundCapable)

    async def refund_payment(self, attempt: AttemptView) -> str:
        """Refund the whole amount of a paid session through Wave; returns what Wave did.

        Raises ``WaveRefundRefused`` when Wave says no, with its reason; a repeat refunds
        nothing more (C2). Staff reach this through ``refunds.refund_order``.
        """
        await self.refund(attempt)
        return "refunded in full at Wave"

    async def refund(self, attempt: AttemptView) -> None:
        """Refund the whole amount of a paid session through Wave (see ``refund_payment``)."""
        session = await self._session_of(attempt)
        if session is None or not isinstance(session.get("id"), str):
            raise WaveError("no_session", f"attempt {attempt.attempt_id} has no Wave session")
        await self.client.refund_session(session["id"])
        log.info("wave refunded the session of attempt %s", attempt.attempt_id)
