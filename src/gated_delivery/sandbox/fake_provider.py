"""The fake payment provider: an in-process stand-in for a real one, for demos and tests.

It signs its notifications with an HMAC of the body, keeps its own ledger of what each
payment's "server" would answer, and can be told to refuse, to lie about the amount, or to
be down. In sandbox mode a payment page at ``/sandbox/fake/pay/<attempt>`` lets a person
choose the outcome.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gated_delivery import safe_json
from gated_delivery.config import CoreSettings
from gated_delivery.errors import NotificationRejected, ProviderError, ProviderUnavailable
from gated_delivery.hookspecs import hookimpl
from gated_delivery.money import Money
from gated_delivery.plugin_protocols import PaymentProvider
from gated_delivery.plugin_types import (
    AttemptView,
    FindAttempt,
    NotificationRef,
    PaymentRequest,
    PaymentStart,
    ProviderStatus,
    RawNotification,
    ReportedStatus,
)
from gated_delivery.web.templating import templates

SIGNATURE_HEADER = "x-fake-signature"


@dataclass
class FakeProvider:
    """A provider whose outcomes a test (or a person, in sandbox mode) decides."""

    secret: bytes
    base_url: str = "http://127.0.0.1:8000"
    name: str = "fake"
    display_name: str = "Fake provider (sandbox)"
    session_lifetime: timedelta = timedelta(minutes=30)
    ledger: dict[str, ProviderStatus] = field(default_factory=dict)
    started: dict[str, PaymentRequest] = field(default_factory=dict)
    is_down: bool = False
    refuse_start_with: str | None = None
    checks: int = 0

    # --- the PaymentProvider protocol

    async def check_credentials(self) -> str:
        """Accepted unless told to be down or to refuse (what ``gated-delivery check`` asks)."""
        if self.is_down:
            raise ProviderUnavailable(self.name, "down", "the fake provider is down")
        if self.refuse_start_with:
            raise ProviderError(self.name, self.refuse_start_with, "credentials refused")
        return "the fake provider accepts its secret"

    async def start_payment(self, request: PaymentRequest) -> PaymentStart:
        """Remember the request and send the buyer to the sandbox payment page."""
        if self.refuse_start_with:
            raise ProviderError(
                self.name, self.refuse_start_with, "payment refused by the fake provider"
            )
        self.started[request.attempt_id] = request
        return PaymentStart(
            redirect_url=f"{self.base_url}/sandbox/{self.name}/pay/{request.attempt_id}",
            provider_ref=f"{self.name}-{request.attempt_id}",
        )

    async def verify_notification(
        self, raw: RawNotification, find_attempt: FindAttempt
    ) -> NotificationRef:
        """Check the HMAC-SHA256 of the body in ``X-Fake-Signature``, in constant time."""
        signature = raw.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            raise NotificationRejected(f"missing {SIGNATURE_HEADER} header")
        if not hmac.compare_digest(signature, self.sign(raw.body)):
            raise NotificationRejected(f"{SIGNATURE_HEADER} does not match the body")
        try:
            data = safe_json.loads(raw.body)
            attempt_id = str(data["attempt_id"])
        except (ValueError, KeyError, TypeError):
            raise NotificationRejected("body is not the JSON the fake provider sends") from None
        return NotificationRef(
            attempt_id=attempt_id,
            dedupe_key=f"{attempt_id}:{data.get('status', '')}:{data.get('event_id', '')}",
            body_redacted=raw.body.decode("utf-8", "replace"),
        )

    async def check_status(self, attempt: AttemptView) -> ProviderStatus:
        """What the fake provider's server says; PENDING until someone decided."""
        self.checks += 1
        if self.is_down:
            raise ProviderUnavailable(self.name, "503", "the fake provider is down")
        return self.ledger.get(attempt.attempt_id, ProviderStatus(ReportedStatus.PENDING))

    # --- controls for tests and the sandbox page

    def sign(self, body: bytes) -> str:
        """The signature the fake provider puts on ``body``."""
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def will_report(
        self,
        attempt_id: str,
        status: ReportedStatus = ReportedStatus.SUCCEEDED,
        amount: Money | None = None,
    ) -> None:
        """Decide what ``check_status`` answers for an attempt (amount: the one asked)."""
        if amount is None and attempt_id in self.started:
            amount = self.started[attempt_id].amount
        self.ledger[attempt_id] = ProviderStatus(
            status, amount=amount, provider_ref=f"{self.name}-{attempt_id}"
        )

    def notification(
        self, attempt_id: str, *, status: str = "succeeded", event_id: str = "1"
    ) -> tuple[bytes, dict[str, str]]:
        """An authentic notification: the body and headers to POST to ``notify``."""
        body = json.dumps(
            {"attempt_id": attempt_id, "status": status, "event_id": event_id}
        ).encode()
        return body, {"content-type": "application/json", SIGNATURE_HEADER: self.sign(body)}


def fake_secret(settings: CoreSettings) -> bytes:
    """The fake provider's signing secret, derived from ``GD_SECRET_KEY``."""
    return hmac.new(
        settings.secret.encode(), b"fake-provider-notifications", hashlib.sha256
    ).digest()


@hookimpl
def payment_providers(settings: CoreSettings) -> Iterable[PaymentProvider]:
    """Offer the fake provider, in sandbox mode only."""
    if not settings.sandbox:
        return []
    return [FakeProvider(secret=fake_secret(settings), base_url=settings.base_url)]


#: The outcomes a person can pick on the sandbox payment page.
PAGE_OUTCOMES = {
    s.value: s for s in (ReportedStatus.SUCCEEDED, ReportedStatus.FAILED, ReportedStatus.CANCELLED)
}


def _routes(provider: FakeProvider) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        attempt_id = request.path_params["attempt_id"]
        started = provider.started.get(attempt_id)
        if started is None:
            return HTMLResponse("unknown payment", status_code=404)
        if request.method == "GET":
            return templates.TemplateResponse(
                request, "sandbox_fake_pay.html", {"amount": str(started.amount)}
            )
        form = await request.form()
        outcome = PAGE_OUTCOMES.get(str(form.get("outcome", "")))
        if outcome is None:
            return HTMLResponse("unknown outcome", status_code=400)
        provider.will_report(attempt_id, outcome)
        body, headers = provider.notification(attempt_id, status=outcome.value)
        return RedirectResponse(
            started.return_url,
            status_code=303,
            background=BackgroundTask(_deliver, started.notify_url, body, headers),
        )

    return [Route("/sandbox/fake/pay/{attempt_id}", page, methods=["GET", "POST"])]


async def _deliver(url: str, body: bytes, headers: Mapping[str, str]) -> None:
    # the webhook travels over loopback like a real provider's; losing it is survivable
    # (the return page and the reconciler also check), so a failure is not raised
    async with httpx.AsyncClient(timeout=10) as client:
        with contextlib.suppress(httpx.HTTPError):
            await client.post(url, content=body, headers=dict(headers))


@hookimpl
def sandbox_routes(settings: CoreSettings, providers: Mapping[str, Any]) -> Iterable[BaseRoute]:
    """The fake provider's payment page, when it is the one in use."""
    provider = providers.get("fake")
    return _routes(provider) if isinstance(provider, FakeProvider) else []
