"""A simulator of Orange Money Web Payment's ``dev`` sandbox: the token endpoint, the
``webpayment`` and ``transactionstatus`` calls with their real shapes, a payment page, and a
control endpoint for tests.

Everything lives on one ``OrangeMoneySimulator`` object (no module state), so two apps in one
process have two independent simulators. Its routes are mounted under ``prefix``
(``/sandbox/orange-money`` in sandbox mode) and answer the API paths below it:

    POST {prefix}/oauth/v3/token                                  Basic client credentials
    POST {prefix}/orange-money-webpay/{country}/v1/webpayment     Bearer; opens a session
    POST {prefix}/orange-money-webpay/{country}/v1/transactionstatus
    GET  {prefix}/payment/{pay_token}                             the buyer's page
    POST {prefix}/payment/{pay_token}     choice=pay|refuse|abandon
    POST {prefix}/control/{order_id}      outcome=PENDING|SUCCESS|FAILED|EXPIRED,
                                          notify=1|0, copies=N (duplicates)
    GET  {prefix}/control                 counters (token requests, API calls, notifications)
    POST {prefix}/control                 misbehaviours: expire_tokens=1, delay_ms=N,
                                          fail_next=N (503s), status_down=1|0,
                                          notify_copies=N (page notifications; 0 loses them),
                                          processing_ms=N (how long PENDING lasts), reset=1

Like Orange, a session is INITIATED until the buyer confirms, then PENDING while Orange
processes, then SUCCESS or FAILED, and only then is the notification sent: nothing on
abandon, and an abandoned session stays INITIATED for ever. The status answer is Orange's
documented ``{status, order_id, txnid}``, with no amount. What is refused, and with which
answer, is in ``simulator_rules``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import html
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gated_delivery_orange_money import protocol
from gated_delivery_orange_money import simulator_rules as rules
from gated_delivery_orange_money.settings import SANDBOX_PREFIX

log = logging.getLogger(__name__)

#: How long a payment session accepts the buyer's confirmation (Orange: 10 minutes).
SESSION_VALIDITY_SECONDS: Final = 600.0
TOKEN_LIFETIME_SECONDS: Final = 3600
#: How long a confirmed payment stays PENDING: Orange says it "moves fast" to the result,
#: with no figure, so this is our pick (tests shorten or lengthen it).
PROCESSING_SECONDS: Final = 0.5
#: Token requests taken per minute before 429 code 53 (one guide's figure; None: no limit).
TOKEN_REQUESTS_PER_MINUTE: Final = 50
#: What a session can be settled to by the control endpoint.
OUTCOMES: Final = (protocol.PENDING, protocol.SUCCESS, protocol.FAILED, protocol.EXPIRED)
#: The results Orange sends a notification for.
NOTIFIED: Final = frozenset({protocol.SUCCESS, protocol.FAILED})
#: How often a processing payment looks whether a test settled it meanwhile.
_PROCESSING_STEP_SECONDS: Final = 0.02


@dataclass(frozen=True)
class Notice:
    """A notification the simulator sends: where, what and with which headers."""

    url: str
    body: bytes
    headers: Mapping[str, str]


#: Sends one notification; the default POSTs it over HTTP.
Deliver = Callable[[Notice], Awaitable[None]]


async def post_notice(notice: Notice) -> None:
    """POST a notification as Orange does; a failure is logged, not raised (Orange's
    retries are undocumented, so the simulator does not retry either)."""
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            response = await client.post(notice.url, content=notice.body, headers=notice.headers)
        except httpx.HTTPError as exc:
            log.warning("simulator could not deliver a notification: %s", type(exc).__name__)
            return
    if not response.is_success:
        log.warning("simulator notification answered %s", response.status_code)


@dataclass
class Session:
    """One payment session, as Orange keeps it."""

    order_id: str
    amount: int
    currency: str
    pay_token: str
    notif_token: str
    notif_url: str
    return_url: str
    cancel_url: str
    reference: str
    lang: str
    opened_at: float
    status: str = protocol.INITIATED
    txnid: str | None = None
    #: bumped at every change of status, so a payment being processed knows it was overtaken
    version: int = 0


@dataclass
class Misbehaviour:
    """What the simulator does wrong on purpose, for tests."""

    delay_seconds: float = 0.0
    fail_next: int = 0
    status_down: bool = False
    notify_copies: int = 1
    processing_seconds: float = PROCESSING_SECONDS


@dataclass
class Counters:
    """What the simulator has been asked, for tests."""

    token_requests: int = 0
    api_calls: int = 0
    notifications: int = 0


def _new_txnid() -> str:
    stamp = datetime.now(UTC).strftime("%y%m%d.%H%M")
    return f"MP{stamp}.{secrets.token_hex(3).upper()}"


async def _fields(request: Request) -> dict[str, str]:
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _set_status(session: Session, status: str) -> None:
    session.status = status
    session.version += 1
    if status != protocol.PENDING:  # Orange's transaction id comes with the result
        session.txnid = session.txnid or _new_txnid()


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


class OrangeMoneySimulator:
    """An in-memory Orange Money WebPay ``dev`` sandbox for one account."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        merchant_key: str,
        country: str = protocol.SANDBOX_COUNTRY,
        currency: str = protocol.SANDBOX_CURRENCY,
        prefix: str = SANDBOX_PREFIX,
        deliver: Deliver = post_notice,
        token_lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
        token_requests_per_minute: int | None = TOKEN_REQUESTS_PER_MINUTE,
        session_validity_seconds: float = SESSION_VALIDITY_SECONDS,
        processing_seconds: float = PROCESSING_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self._merchant_key = merchant_key
        self.country = country
        self.currency = currency
        self.prefix = prefix.rstrip("/")
        self.deliver = deliver
        self.token_lifetime_seconds = token_lifetime_seconds
        self.token_requests_per_minute = token_requests_per_minute
        self.session_validity_seconds = session_validity_seconds
        self._processing_seconds = processing_seconds
        self._clock = clock
        self.sessions: dict[str, Session] = {}
        self._by_pay_token: dict[str, str] = {}
        self._tokens: dict[str, float] = {}
        self._token_times: deque[float] = deque()
        self.misbehaviour = Misbehaviour(processing_seconds=processing_seconds)
        self.counters = Counters()
        # tests read and steer the simulator from another thread than the server's
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OrangeMoneySimulator(prefix={self.prefix!r}, sessions={len(self.sessions)})"

    # --- for tests and the control endpoint

    def reset(self) -> None:
        """Forget every misbehaviour and the rate limit's window (sessions and counters stay)."""
        with self._lock:
            self.misbehaviour = Misbehaviour(processing_seconds=self._processing_seconds)
            self._token_times.clear()

    def expire_tokens(self) -> None:
        """Make every token issued so far expired: the next call with one gets 401 code 42."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def notice(self, order_id: str) -> Notice:
        """The notification Orange would send about this session now."""
        session = self.sessions[order_id]
        body = json.dumps(
            {
                "status": session.status,
                "notif_token": session.notif_token,
                "txnid": session.txnid or "",
            }
        ).encode()
        return Notice(session.notif_url, body, {"content-type": rules.JSON_TYPE})

    def settle(self, order_id: str, outcome: str) -> Session:
        """Set a session's status as if the buyer had confirmed on the payment page: PENDING
        (Orange processing, held until settled again) or a result."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        with self._lock:
            session = self.sessions[order_id]
            _set_status(session, outcome)
            return session

    def _finish(self, order_id: str, version: int, outcome: str) -> bool:
        """Give a processed payment its result, unless something changed it since."""
        with self._lock:
            session = self.sessions[order_id]
            if session.version != version:
                return False
            _set_status(session, outcome)
            return True

    async def send(self, order_id: str, copies: int = 1) -> int:
        """Send the session's notification ``copies`` times; returns how many were sent."""
        notice = self.notice(order_id)
        for _ in range(copies):
            with self._lock:
                self.counters.notifications += 1
            await self.deliver(notice)
        return copies

    # --- the app

    def routes(self) -> list[BaseRoute]:
        """The simulator's routes, under ``prefix``."""
        p = self.prefix
        webpay = f"{p}/orange-money-webpay/{{country}}/v1"
        return [
            Route(f"{p}{protocol.TOKEN_PATH}", self._token, methods=["POST"]),
            Route(f"{webpay}/webpayment", self._webpayment, methods=["POST"]),
            Route(f"{webpay}/transactionstatus", self._status, methods=["POST"]),
            Route(f"{p}/payment/{{pay_token}}", self._page, methods=["GET", "POST"]),
            Route(f"{p}/control", self._control, methods=["GET", "POST"]),
            Route(f"{p}/control/{{order_id}}", self._control_order, methods=["POST"]),
            # any other path (an old /oauth/v2/token, a missing country segment): Orange's
            # gateway answers 404 code 60
            Route(f"{p}/{{path:path}}", self._unknown_path, methods=["GET", "POST"]),
        ]

    def app(self) -> Starlette:
        """The simulator alone, as an ASGI app (to serve it on its own port)."""
        return Starlette(routes=self.routes())

    # --- the gateway in front of every API call

    async def _gateway(self, request: Request) -> Response | None:
        delay = self.misbehaviour.delay_seconds
        if delay:
            await asyncio.sleep(delay)
        if "application/json" not in request.headers.get("accept", "").lower():
            return rules.not_acceptable()
        with self._lock:
            if self.misbehaviour.fail_next > 0:
                self.misbehaviour.fail_next -= 1
                return rules.unavailable()
        return None

    def _bearer(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or not header[7:]:
            return rules.missing_credentials()
        expiry = self._tokens.get(header[7:])
        if expiry is None:
            return rules.invalid_credentials()
        if self._clock() >= expiry:
            return rules.expired_credentials()
        return None

    def _over_rate_limit(self) -> bool:
        limit = self.token_requests_per_minute
        if limit is None:
            return False
        now = self._clock()
        with self._lock:
            while self._token_times and now - self._token_times[0] >= 60:
                self._token_times.popleft()
            self._token_times.append(now)
            return len(self._token_times) > limit

    async def _unknown_path(self, request: Request) -> Response:
        return await self._gateway(request) or rules.not_found()

    async def _token(self, request: Request) -> Response:
        refused = await self._gateway(request)
        if refused is not None:
            return refused
        with self._lock:
            self.counters.token_requests += 1
        if self._over_rate_limit():
            return rules.too_many_requests()
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic ") or not header[6:]:
            return rules.missing_credentials()
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return rules.invalid_credentials()
        known = hmac.compare_digest(user.encode(), self.client_id.encode()) and hmac.compare_digest(
            password.encode(), self._client_secret.encode()
        )
        if not known:
            return rules.invalid_credentials()
        # an OAuth client-credentials request is a form; JSON is not read
        if rules.media_type(request.headers.get("content-type", "")) != rules.FORM_TYPE:
            return rules.invalid_body(f"send the form as {rules.FORM_TYPE}")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return rules.invalid_body("grant_type must be client_credentials")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = self._clock() + self.token_lifetime_seconds
        # Orange sends expires_in as a string in its examples (and as a number elsewhere)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "access_token": token,
                "expires_in": str(self.token_lifetime_seconds),
            }
        )

    async def _api_body(
        self, request: Request
    ) -> tuple[dict[str, Any], None] | tuple[None, Response]:
        refused = await self._gateway(request) or self._bearer(request)
        if refused is None and request.path_params["country"] != self.country:
            refused = rules.not_found()
        if refused is not None:
            return None, refused
        with self._lock:
            self.counters.api_calls += 1
        if rules.media_type(request.headers.get("content-type", "")) != rules.JSON_TYPE:
            return None, rules.invalid_body(f"send a JSON object as {rules.JSON_TYPE}")
        try:
            data = json.loads(await request.body())
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return None, rules.invalid_body("send a JSON object")
        return data, None

    async def _webpayment(self, request: Request) -> Response:
        data, refused = await self._api_body(request)
        if refused is not None:
            return refused
        assert data is not None
        with self._lock:
            problem = rules.init_problem(
                data,
                merchant_key=self._merchant_key,
                currency=self.currency,
                used_order_ids=set(self.sessions),
            )
        if problem:
            return rules.invalid_field(problem)
        pay_token = secrets.token_hex(32)
        session = Session(
            order_id=data["order_id"],
            amount=data["amount"],
            currency=data["currency"],
            pay_token=pay_token,
            notif_token=secrets.token_hex(16),
            notif_url=data["notif_url"],
            return_url=data["return_url"],
            cancel_url=data["cancel_url"],
            reference=data.get("reference") or "",
            lang=data["lang"],
            opened_at=self._clock(),
        )
        with self._lock:
            if session.order_id in self.sessions:  # a concurrent twin got there first
                return rules.invalid_field("order_id already used: every payment needs a new one")
            self.sessions[session.order_id] = session
            self._by_pay_token[pay_token] = session.order_id
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "status": 201,
                "message": "OK",
                "pay_token": pay_token,
                "payment_url": f"{base}{self.prefix}/payment/{pay_token}",
                "notif_token": session.notif_token,
            },
            status_code=201,
        )

    async def _status(self, request: Request) -> Response:
        data, refused = await self._api_body(request)
        if refused is not None:
            return refused
        assert data is not None
        if self.misbehaviour.status_down:
            return rules.unavailable()
        fields = rules.status_fields(data)
        if isinstance(fields, str):
            return rules.invalid_field(fields)
        order_id, amount, pay_token = fields
        session = self.sessions.get(order_id)
        # Orange's answer to an unknown triple (or to a right one with another amount) is
        # undocumented; the simulator refuses it as a bad field
        if (
            session is None
            or not hmac.compare_digest(pay_token.encode(), session.pay_token.encode())
            or amount != session.amount
        ):
            return rules.invalid_field("no transaction with this order_id, amount and pay_token")
        # Orange's documented answer: no amount, and no txnid before there is a result
        answer: dict[str, Any] = {"status": session.status, "order_id": session.order_id}
        if session.txnid:
            answer["txnid"] = session.txnid
        return JSONResponse(answer, status_code=201)

    # --- the buyer's page

    async def _page(self, request: Request) -> Response:
        order_id = self._by_pay_token.get(request.path_params["pay_token"])
        session = self.sessions.get(order_id) if order_id else None
        if session is None:
            return HTMLResponse("<p>Paiement introuvable.</p>", status_code=404)
        if request.method == "GET":
            return HTMLResponse(self._page_html(session))
        if session.status != protocol.INITIATED:
            return HTMLResponse("<p>Ce paiement est déjà traité.</p>", status_code=409)
        choice = dict(parse_qsl((await request.body()).decode("utf-8", "replace"))).get("choice")
        if choice == "abandon":
            return RedirectResponse(session.cancel_url, status_code=303)
        if choice not in ("pay", "refuse"):
            return HTMLResponse("<p>Choix inconnu.</p>", status_code=400)
        if self._clock() - session.opened_at > self.session_validity_seconds:
            self.settle(session.order_id, protocol.EXPIRED)  # too late; Orange sends nothing
            return RedirectResponse(session.return_url, status_code=303)
        outcome = protocol.SUCCESS if choice == "pay" else protocol.FAILED
        version = self.settle(session.order_id, protocol.PENDING).version
        return RedirectResponse(
            session.return_url,
            status_code=303,
            background=BackgroundTask(self._process, session.order_id, version, outcome),
        )

    async def _process(self, order_id: str, version: int, outcome: str) -> None:
        """Orange processing a confirmed payment: PENDING for a while, then the result and
        its notification, unless a test settled the session meanwhile."""
        with self._lock:
            processing, copies = (
                self.misbehaviour.processing_seconds,
                self.misbehaviour.notify_copies,
            )
        deadline = time.monotonic() + processing  # real time: the session clock may be frozen
        while (left := deadline - time.monotonic()) > 0:
            # short steps: a test that settled the session meanwhile ends the wait (a server
            # shutting down waits for this task)
            await asyncio.sleep(min(left, _PROCESSING_STEP_SECONDS))
            if self.sessions[order_id].version != version:
                return
        if self._finish(order_id, version, outcome):
            await self.send(order_id, copies)

    def _page_html(self, session: Session) -> str:
        title = html.escape(session.reference or "Marchand")
        amount = f"{session.amount} {html.escape(session.currency)}"
        action = html.escape(f"{self.prefix}/payment/{session.pay_token}")
        buttons = "".join(
            f'<button name="choice" value="{value}">{label}</button> '
            for value, label in (("pay", "Payer"), ("refuse", "Refuser"), ("abandon", "Abandonner"))
        )
        return (
            '<!doctype html><html lang="fr"><meta charset="utf-8">'
            "<title>Orange Money (simulateur)</title>"
            f"<h1>Orange Money — simulateur</h1><p>{title} : <strong>{amount}</strong></p>"
            f'<p>Commande {html.escape(session.order_id)}</p><form method="post" '
            f'action="{action}">{buttons}</form></html>'
        )

    # --- control, for tests

    async def _control(self, request: Request) -> Response:
        if request.method == "POST":
            fields = await _fields(request)
            if fields.get("reset") == "1":
                self.reset()
            if fields.get("expire_tokens") == "1":
                self.expire_tokens()
            with self._lock:
                mis = self.misbehaviour
                if "delay_ms" in fields:
                    mis.delay_seconds = max(0, _int(fields["delay_ms"], 0)) / 1000
                if "fail_next" in fields:
                    mis.fail_next = max(0, _int(fields["fail_next"], 0))
                if "status_down" in fields:
                    mis.status_down = fields["status_down"] == "1"
                if "notify_copies" in fields:
                    mis.notify_copies = max(0, _int(fields["notify_copies"], 1))
                if "processing_ms" in fields:
                    mis.processing_seconds = max(0, _int(fields["processing_ms"], 0)) / 1000
        with self._lock:
            return JSONResponse(
                {
                    "token_requests": self.counters.token_requests,
                    "api_calls": self.counters.api_calls,
                    "notifications": self.counters.notifications,
                    "delay_ms": int(self.misbehaviour.delay_seconds * 1000),
                    "fail_next": self.misbehaviour.fail_next,
                    "status_down": self.misbehaviour.status_down,
                    "notify_copies": self.misbehaviour.notify_copies,
                    "processing_ms": int(self.misbehaviour.processing_seconds * 1000),
                }
            )

    async def _control_order(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        if order_id not in self.sessions:
            return JSONResponse({"error": f"no session {order_id}"}, status_code=404)
        fields = await _fields(request)
        try:
            session = self.settle(order_id, fields.get("outcome", ""))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        sent = 0
        # Orange notifies SUCCESS and FAILED only: nothing while PENDING, nothing on EXPIRED
        if fields.get("notify", "1") == "1" and session.status in NOTIFIED:
            sent = await self.send(order_id, max(0, _int(fields.get("copies"), 1)))
        return JSONResponse(
            {"order_id": order_id, "status": session.status, "txnid": session.txnid, "sent": sent}
        )
