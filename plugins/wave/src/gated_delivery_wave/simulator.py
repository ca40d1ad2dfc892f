"""A simulator of Wave's Checkout API, as strict as what is known of the real one.

Wave has no sandbox: this is the only offline test bed, so it follows
``docs/providers/wave.md`` to the letter and marks what is guessed. Everything lives on one
``WaveSimulator`` (no module state). Its routes, under ``prefix`` (``/sandbox/wave`` in
sandbox mode):

    POST {prefix}/v1/checkout/sessions                    create (Bearer key)
    GET  {prefix}/v1/checkout/sessions/search?client_reference=
    GET  {prefix}/v1/checkout/sessions?transaction_id=
    GET  {prefix}/v1/checkout/sessions/{id}
    POST {prefix}/v1/checkout/sessions/{id}/expire
    POST {prefix}/v1/checkout/sessions/{id}/refund
    GET  {prefix}/c/{id}                                   the payer's page (wave_launch_url)
    POST {prefix}/c/{id}        choice=pay|fail|expire
    GET  {prefix}/control                                  counters
    POST {prefix}/control       fail_next=N (503s), create_delay_ms=N (reply late, session
                                made), get_down=1|0, webhook_copies=N, early_webhook=1|0,
                                reset=1
    POST {prefix}/control/{id}  outcome=succeeded|failed|expired, amount=N, notify=1|0,
                                copies=N

Webhooks are sent the way Wave sends them: a POST of ``{id, type, data}`` to the one URL the
shop registered in the portal, signed ``Wave-Signature: t=...,v1=...`` over ``t`` + body
(or ``Authorization: Bearer <secret>`` with the shared-secret strategy). Guesses: the
error bodies' messages, expire of an expired session (200, as one mock does), refund of an
unpaid session (400), a session's fields after a refund (unchanged; ``refunded`` is only in
the control counters), no webhook on expiry, and refusing unknown create fields.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gated_delivery_wave import protocol, signature
from gated_delivery_wave.settings import SANDBOX_PREFIX, WebhookStrategy

log = logging.getLogger(__name__)

CREATE_FIELDS: Final = frozenset(
    {
        "amount",
        "currency",
        "success_url",
        "error_url",
        "client_reference",
        "restrict_payer_mobile",
        "aggregated_merchant_id",
    }
)
_WHOLE: Final = re.compile(r"(0|[1-9][0-9]*)\Z", re.ASCII)
_DECIMAL: Final = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,2})?\Z", re.ASCII)
_E164: Final = re.compile(r"\+[1-9][0-9]{6,14}\Z", re.ASCII)
#: Hosts whose plain-http return URLs the simulator takes (Wave takes none).
LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
ZERO_DECIMAL: Final = frozenset({"XOF", "GNF", "UGX"})


@dataclass(frozen=True)
class Notice:
    """A webhook the simulator sends: where, what and with which headers."""

    url: str
    body: bytes
    headers: Mapping[str, str]


#: Sends one webhook; the default POSTs it over HTTP.
Deliver = Callable[[Notice], Awaitable[None]]


async def post_notice(notice: Notice) -> None:
    """POST a webhook as Wave does; a failure is logged (Wave retries for days, C1; the
    simulator does not)."""
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            response = await client.post(notice.url, content=notice.body, headers=notice.headers)
        except httpx.HTTPError as exc:
            log.warning("simulator could not deliver a webhook: %s", type(exc).__name__)
            return
    if not response.is_success:
        log.warning("simulator webhook answered %s", response.status_code)


@dataclass
class Session:
    """One checkout session, as Wave keeps it."""

    id: str
    amount: str
    currency: str
    client_reference: str | None
    success_url: str
    error_url: str
    launch_url: str
    created: float
    expires: float
    restrict_payer_mobile: str | None = None
    aggregated_merchant_id: str | None = None
    checkout_status: str = protocol.OPEN
    payment_status: str = protocol.PROCESSING
    transaction_id: str | None = None
    last_payment_error: dict[str, str] | None = None
    completed: float | None = None
    refunds: int = 0

    def as_json(self, business_name: str) -> dict[str, Any]:
        """The session object as Wave returns it."""
        body: dict[str, Any] = {
            "id": self.id,
            "amount": self.amount,
            "currency": self.currency,
            "business_name": business_name,
            "checkout_status": self.checkout_status,
            "payment_status": self.payment_status,
            "client_reference": self.client_reference,
            "restrict_payer_mobile": self.restrict_payer_mobile,
            "aggregated_merchant_id": self.aggregated_merchant_id,
            "success_url": self.success_url,
            "error_url": self.error_url,
            "wave_launch_url": self.launch_url,
            "last_payment_error": self.last_payment_error,
            "when_created": _iso(self.created),
            "when_expires": _iso(self.expires),
        }
        if self.transaction_id:
            body["transaction_id"] = self.transaction_id
        if self.completed is not None:
            body["when_completed"] = _iso(self.completed)
        return body


@dataclass
class Misbehaviour:
    """What the simulator does wrong on purpose, for tests."""

    fail_next: int = 0
    create_delay_seconds: float = 0.0
    get_down: bool = False
    webhook_copies: int = 1
    early_webhook: bool = False


@dataclass
class Counters:
    """What the simulator has been asked and has done, for tests."""

    api_calls: int = 0
    sessions: int = 0
    by_reference: dict[str, int] = field(default_factory=dict)
    webhooks: int = 0
    refunds: int = 0
    expired_by_call: int = 0


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def error(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> JSONResponse:
    """Wave's error body ``{code, message, details?}``."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status)


def _new_id(prefix: str, length: int = 13) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _is_return_url(value: object, http_hosts: frozenset[str]) -> bool:
    if not isinstance(value, str) or len(value) > 2048:
        return False
    parts = urlsplit(value)
    # Wave takes https only (C2); plain http only to the hosts a sandbox or test runs on
    return bool(parts.hostname) and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in http_hosts)
    )


def validate_create(
    data: Mapping[str, Any], currency: str, http_hosts: frozenset[str] = LOOPBACK
) -> list[dict[str, Any]]:
    """The ``details`` of a ``request-validation-error``: one ``{loc, msg}`` per problem."""
    problems: list[dict[str, Any]] = []

    def bad(name: str, msg: str) -> None:
        problems.append({"loc": ["body", name], "msg": msg})

    for name in sorted(set(data) - CREATE_FIELDS):
        bad(name, "extra fields not permitted")
    amount = data.get("amount")
    pattern = _WHOLE if data.get("currency") in ZERO_DECIMAL else _DECIMAL
    if not isinstance(amount, str):
        bad("amount", "amount must be a string")
    elif not pattern.match(amount) or amount.strip("0.") == "":
        bad("amount", "invalid amount for the currency (no leading zeros; no decimals for XOF)")
    if data.get("currency") != currency:
        bad("currency", f"this wallet takes {currency}")
    for name in ("success_url", "error_url"):
        if not _is_return_url(data.get(name), http_hosts):
            bad(name, "must be an https URL")
    reference = data.get("client_reference")
    if reference is not None and (
        not isinstance(reference, str) or len(reference) > protocol.MAX_CLIENT_REFERENCE
    ):
        bad("client_reference", f"at most {protocol.MAX_CLIENT_REFERENCE} characters")
    mobile = data.get("restrict_payer_mobile")
    if mobile is not None and not (isinstance(mobile, str) and _E164.match(mobile)):
        bad("restrict_payer_mobile", "must be an E.164 number such as +221761110001")
    merchant = data.get("aggregated_merchant_id")
    if merchant is not None and not (isinstance(merchant, str) and merchant.startswith("am-")):
        bad("aggregated_merchant_id", "unknown aggregated merchant")
    return problems


class WaveSimulator:
    """An in-memory Wave Checkout API for one wallet (one API key, one webhook secret)."""

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        webhook_url: str,
        strategy: WebhookStrategy = "signing",
        currency: str = "XOF",
        business_name: str = "Boutique (simulateur Wave)",
        prefix: str = SANDBOX_PREFIX,
        deliver: Deliver = post_notice,
        lifetime_seconds: float = protocol.SESSION_LIFETIME.total_seconds(),
        clock: Callable[[], float] = time.time,
        http_hosts: frozenset[str] = LOOPBACK,
        signing_secret: str | None = None,
    ) -> None:
        self._api_key = api_key
        self._webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.strategy = strategy
        self.currency = currency
        self.business_name = business_name
        self.prefix = prefix.rstrip("/")
        self.deliver = deliver
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock
        self.http_hosts = http_hosts
        self._signing_secret = signing_secret
        self.sessions: dict[str, Session] = {}
        self.misbehaviour = Misbehaviour()
        self.counters = Counters()
        # tests read and steer the simulator from another thread than the server's
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"WaveSimulator(prefix={self.prefix!r}, sessions={len(self.sessions)})"

    # --- state, for tests and the control endpoint

    def reset(self) -> None:
        """Forget every misbehaviour (sessions and counters stay)."""
        with self._lock:
            self.misbehaviour = Misbehaviour()

    def session(self, session_id: str) -> Session | None:
        """The session, expired first if its time is up (Wave expires it by itself)."""
        with self._lock:
            found = self.sessions.get(session_id)
            if (
                found is not None
                and found.checkout_status == protocol.OPEN
                and self._clock() >= found.expires
            ):
                self._expire(found)
            return found

    def _expire(self, session: Session) -> None:
        session.checkout_status = protocol.EXPIRED
        session.payment_status = protocol.CANCELLED  # INF: "expired (payment cancelled)"
        session.completed = self._clock()

    def settle(self, session_id: str, outcome: str, paid: str | None = None) -> Session:
        """Decide the buyer's move: ``succeeded`` (``paid`` is the amount charged, if not
        the one asked), ``failed`` (the session stays open), or ``expired``."""
        with self._lock:
            session = self.sessions[session_id]
            if outcome == protocol.SUCCEEDED:
                session.checkout_status = protocol.COMPLETE
                session.payment_status = protocol.SUCCEEDED
                session.transaction_id = session.transaction_id or _new_id("T", 11).upper()
                session.completed = self._clock()
                session.last_payment_error = None
                if paid is not None:
                    session.amount = paid
            elif outcome == "failed":
                session.last_payment_error = {
                    "code": "insufficient-funds",
                    "message": "Le solde du compte Wave est insuffisant.",
                }
            elif outcome == protocol.EXPIRED:
                self._expire(session)
            else:
                raise ValueError(f"outcome must be succeeded, failed or expired, not {outcome!r}")
            return session

    def event_type(self, session: Session) -> str:
        """What Wave would say now: completed, or payment_failed after a failed try."""
        if session.checkout_status == protocol.COMPLETE:
            return protocol.SESSION_COMPLETED
        if session.last_payment_error or session.checkout_status == protocol.EXPIRED:
            return protocol.SESSION_PAYMENT_FAILED
        return protocol.SESSION_COMPLETED  # an early webhook, before the payment is final

    def notice(self, session_id: str, event_type: str | None = None) -> Notice:
        """A webhook about the session as it is now, signed at the simulator's clock."""
        with self._lock:
            session = self.sessions[session_id]
            event = {
                "id": _new_id("EV_", 12),
                "type": event_type or self.event_type(session),
                "data": session.as_json(self.business_name),
            }
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"content-type": "application/json"}
        if self.strategy == "shared":
            headers["authorization"] = f"Bearer {self._webhook_secret}"
        else:
            stamp = int(self._clock())
            headers["wave-signature"] = signature.sign(self._webhook_secret.encode(), stamp, body)
        return Notice(self.webhook_url, body, headers)

    async def send(self, notice: Notice, copies: int = 1) -> int:
        """Send one webhook ``copies`` times (the same event id: Wave's retries)."""
        for _ in range(copies):
            with self._lock:
                self.counters.webhooks += 1
            await self.deliver(notice)
        return copies

    # --- the app

    def routes(self) -> list[BaseRoute]:
        """The simulator's routes, under ``prefix``."""
        p, api = self.prefix, f"{self.prefix}{protocol.SESSIONS_PATH}"
        return [
            Route(api, self._sessions, methods=["GET", "POST"]),
            Route(f"{p}{protocol.SEARCH_PATH}", self._search, methods=["GET"]),
            Route(f"{api}/{{id}}", self._get, methods=["GET"]),
            Route(f"{api}/{{id}}/expire", self._expire_call, methods=["POST"]),
            Route(f"{api}/{{id}}/refund", self._refund, methods=["POST"]),
            Route(f"{p}/c/{{id}}", self._page, methods=["GET", "POST"]),
            Route(f"{p}/control", self._control, methods=["GET", "POST"]),
            Route(f"{p}/control/{{id}}", self._control_session, methods=["POST"]),
        ]

    def app(self) -> Starlette:
        """The simulator alone, as an ASGI app (to serve it on its own port)."""
        return Starlette(routes=self.routes())

    # --- in front of every API call

    async def _gate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header:
            return error(401, "missing-auth-header", "Missing Authorization header.")
        if not header.startswith("Bearer ") or not header[7:]:
            return error(401, "invalid-auth", "Authorization must be 'Bearer <api key>'.")
        if not hmac.compare_digest(header[7:].encode(), self._api_key.encode()):
            return error(401, "no-matching-api-key", "No API key matches the one given.")
        if self._signing_secret is not None:
            try:  # a key made with request signing: every request is signed (DOC)
                signature.verify(
                    self._signing_secret.encode(),
                    request.headers.get(protocol.SIGNATURE_HEADER, ""),
                    await request.body(),
                    now=self._clock(),
                )
            except signature.SignatureInvalid:
                # Wave's code for this was not seen (?): ours
                return error(401, "invalid-signature", "The request signature is not valid.")
        with self._lock:
            self.counters.api_calls += 1
            if self.misbehaviour.fail_next > 0:
                self.misbehaviour.fail_next -= 1
                return error(503, protocol.SERVICE_UNAVAILABLE, "Service unavailable, retry later.")
        return None

    def _json(self, session: Session) -> JSONResponse:
        return JSONResponse(session.as_json(self.business_name))

    async def _sessions(self, request: Request) -> Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        if request.method == "GET":
            return self._by_transaction(request.query_params.get("transaction_id", ""))
        try:
            data = json.loads(await request.body())
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return error(400, protocol.VALIDATION_ERROR, "The body must be a JSON object.")
        problems = validate_create(data, self.currency, self.http_hosts)
        if problems:
            return error(400, protocol.VALIDATION_ERROR, "Request validation error.", problems)
        session = self._create(data, str(request.base_url).rstrip("/"))
        delay = self.misbehaviour.create_delay_seconds
        if delay:  # the session exists; only the answer is late (a client timeout)
            await asyncio.sleep(delay)
        return self._json(session)

    def _create(self, data: Mapping[str, Any], base: str) -> Session:
        now = self._clock()
        session_id = _new_id("cos-")
        session = Session(
            id=session_id,
            amount=data["amount"],
            currency=data["currency"],
            client_reference=data.get("client_reference"),
            success_url=data["success_url"],
            error_url=data["error_url"],
            launch_url=f"{base}{self.prefix}/c/{session_id}",
            created=now,
            expires=now + self.lifetime_seconds,
            restrict_payer_mobile=data.get("restrict_payer_mobile"),
            aggregated_merchant_id=data.get("aggregated_merchant_id"),
        )
        with self._lock:
            self.sessions[session_id] = session
            self.counters.sessions += 1
            if session.client_reference is not None:
                counts = self.counters.by_reference
                counts[session.client_reference] = counts.get(session.client_reference, 0) + 1
        return session

    def _by_transaction(self, transaction_id: str) -> Response:
        with self._lock:
            found = [s for s in self.sessions.values() if s.transaction_id == transaction_id]
        if not transaction_id or not found:
            return error(404, protocol.NOT_FOUND, "No checkout session has this transaction id.")
        return self._json(found[0])

    async def _search(self, request: Request) -> Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        reference = request.query_params.get("client_reference")
        if reference is None:
            details = [{"loc": ["query", "client_reference"], "msg": "field required"}]
            return error(400, protocol.VALIDATION_ERROR, "Request validation error.", details)
        with self._lock:
            ids = [s.id for s in self.sessions.values() if s.client_reference == reference]
        found = [s for s in (self.session(i) for i in ids) if s is not None]
        return JSONResponse({"result": [s.as_json(self.business_name) for s in found]})

    async def _found(self, request: Request) -> tuple[Session | None, Response | None]:
        refused = await self._gate(request)
        if refused is not None:
            return None, refused
        session = self.session(request.path_params["id"])
        if session is None:
            return None, error(404, protocol.NOT_FOUND, "Checkout session not found.")
        return session, None

    async def _get(self, request: Request) -> Response:
        session, refused = await self._found(request)
        if refused is None and self.misbehaviour.get_down:
            refused = error(500, protocol.INTERNAL_ERROR, "Internal server error.")
        if refused is not None:
            return refused
        assert session is not None
        return self._json(session)

    async def _expire_call(self, request: Request) -> Response:
        session, refused = await self._found(request)
        if refused is not None:
            return refused
        assert session is not None
        with self._lock:
            if session.checkout_status == protocol.COMPLETE:
                return error(409, protocol.EXPIRE_CONFLICT, "The checkout session is complete.")
            if session.checkout_status == protocol.OPEN:
                self._expire(session)
                self.counters.expired_by_call += 1
        return Response(status_code=200)  # empty body (C2); already expired: 200 too (?)

    async def _refund(self, request: Request) -> Response:
        session, refused = await self._found(request)
        if refused is not None:
            return refused
        assert session is not None
        with self._lock:
            if session.payment_status != protocol.SUCCEEDED:
                return error(
                    400, protocol.REFUND_FAILED, "Only a succeeded payment can be refunded."
                )
            if session.refunds == 0:  # a repeat refunds nothing more (C2)
                self.counters.refunds += 1
            session.refunds += 1
        return Response(status_code=200)

    # --- the payer's page

    async def _page(self, request: Request) -> Response:
        session = self.session(request.path_params["id"])
        if session is None:
            return HTMLResponse("<p>Paiement introuvable.</p>", status_code=404)
        if request.method == "GET":
            return HTMLResponse(self._page_html(session))
        if session.checkout_status != protocol.OPEN:
            return HTMLResponse("<p>Ce paiement n'est plus ouvert.</p>", status_code=409)
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        choice = fields.get("choice", "")
        if choice not in ("pay", "fail", "expire"):
            return HTMLResponse("<p>Choix inconnu.</p>", status_code=400)
        outcome = {"pay": protocol.SUCCEEDED, "fail": "failed", "expire": protocol.EXPIRED}[choice]
        target = session.success_url if choice == "pay" else session.error_url
        if choice == "pay" and self.misbehaviour.early_webhook:
            # the webhook leaves before the payment is final: a GET at once still says open
            task = BackgroundTask(self._early, session.id, self.misbehaviour.webhook_copies)
            return RedirectResponse(target, status_code=303, background=task)
        self.settle(session.id, outcome)
        copies = 0 if choice == "expire" else self.misbehaviour.webhook_copies  # none on expiry (?)
        task = BackgroundTask(self.send, self.notice(session.id), copies)
        return RedirectResponse(target, status_code=303, background=task)

    async def _early(self, session_id: str, copies: int) -> None:
        await self.send(self.notice(session_id, protocol.SESSION_COMPLETED), copies)
        self.settle(session_id, protocol.SUCCEEDED)

    def _page_html(self, session: Session) -> str:
        amount = f"{html.escape(session.amount)} {html.escape(session.currency)}"
        action = html.escape(f"{self.prefix}/c/{session.id}")
        buttons = "".join(
            f'<button name="choice" value="{value}">{label}</button> '
            for value, label in (
                ("pay", "Payer"),
                ("fail", "Échec du paiement"),
                ("expire", "Laisser expirer"),
            )
        )
        failed = ""
        if session.last_payment_error:
            reason = html.escape(session.last_payment_error["message"])
            failed = f"<p>Dernier essai refusé : {reason}</p>"
        return (
            '<!doctype html><html lang="fr"><meta charset="utf-8">'
            "<title>Wave (simulateur)</title>"
            f"<h1>Wave — simulateur</h1><p>{html.escape(self.business_name)} : "
            f"<strong>{amount}</strong></p>{failed}"
            f'<form method="post" action="{action}">{buttons}</form></html>'
        )

    # --- control, for tests

    async def _control(self, request: Request) -> Response:
        if request.method == "POST":
            fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
            if fields.get("reset") == "1":
                self.reset()
            with self._lock:
                mis = self.misbehaviour
                if "fail_next" in fields:
                    mis.fail_next = max(0, _int(fields["fail_next"], 0))
                if "create_delay_ms" in fields:
                    mis.create_delay_seconds = max(0, _int(fields["create_delay_ms"], 0)) / 1000
                if "get_down" in fields:
                    mis.get_down = fields["get_down"] == "1"
                if "webhook_copies" in fields:
                    mis.webhook_copies = max(0, _int(fields["webhook_copies"], 1))
                if "early_webhook" in fields:
                    mis.early_webhook = fields["early_webhook"] == "1"
        with self._lock:
            c = self.counters
            return JSONResponse(
                {
                    "api_calls": c.api_calls,
                    "sessions": c.sessions,
                    "by_reference": dict(c.by_reference),
                    "webhooks": c.webhooks,
                    "refunds": c.refunds,
                    "expired_by_call": c.expired_by_call,
                }
            )

    async def _control_session(self, request: Request) -> Response:
        session_id = request.path_params["id"]
        if session_id not in self.sessions:
            return JSONResponse({"error": f"no session {session_id}"}, status_code=404)
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        try:
            session = self.settle(session_id, fields.get("outcome", ""), fields.get("amount"))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        sent = 0
        if fields.get("notify", "1") == "1":
            sent = await self.send(self.notice(session_id), max(0, _int(fields.get("copies"), 1)))
        return JSONResponse({"session": session.as_json(self.business_name), "sent": sent})
