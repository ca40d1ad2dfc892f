"""An in-memory CinetPay current API ("v1"), for the sandbox demo and the tests.

It answers what CinetPay's own SDK sends and reads (facts file, sections 2 to 6), and refuses
what the SDK's validation refuses, with CinetPay's codes:

- ``POST {prefix}/v1/oauth/login``: ``{api_key, api_password}`` → ``access_token`` (a JWT
  whose ``exp`` is the token's lifetime, 24 h unless shortened); 1005 INVALID_CREDENTIALS;
- ``POST {prefix}/v1/payment`` (Bearer): 1002 INVALID_TOKEN, 1003 EXPIRED_TOKEN, 1004
  INVALID_PARAMS naming the field, 1200 TRANSACTION_EXIST for a reused id;
- ``GET {prefix}/v1/payment/{id}`` (Bearer; our id, the payment token or CinetPay's id):
  ``code``/``status`` INITIATED 2001 → PENDING 2002 → SUCCESS 100 / FAILED 2010 (or another
  payer code) / EXPIRED 2003, with ``user``; no amount (the SDK reads none); 404 NOT_FOUND;
- a payment page where a person picks Pay, Refuse or Let expire; a final status POSTs the
  JSON notification ``{notify_token, merchant_transaction_id, transaction_id, user}`` to the
  ``notify_url``.

Which HTTP status comes with each error code is undocumented; the simulator pairs 401 with the
token and credential codes, 400 with the others and 404 with NOT_FOUND (the SDK, and our
plugin, decide on the body's code). Control endpoints (sandbox only):

- ``POST {prefix}/control/{merchant_transaction_id}``: ``outcome`` (SUCCESS | FAILED | EXPIRED
  | PENDING), ``code`` (a failure code, default 2010), ``notify`` (1 | 0, default 1),
  ``duplicates``; ``GET`` the transaction and the notification it would send now;
- ``POST {prefix}/control``: ``expire_tokens`` (1: every issued token answers 1003),
  ``token_lifetime`` (seconds, for new tokens), ``status_errors`` (the next that many status
  requests answer 503), ``down`` (1 | 0), ``reset`` (1); ``GET`` the counters (logins,
  status requests).
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Route

from gated_delivery_cinetpay.settings import SANDBOX_PATH
from gated_delivery_cinetpay.v1 import rules

#: code → status word, as CinetPay's SDK names them.
WORDS: Final = {
    "200": "OK",
    "100": "SUCCESS",
    "2001": "INITIATED",
    "2002": "PENDING",
    "2003": "EXPIRED",
    "2004": "OTP_ERROR",
    "2005": "INSUFFICIENT_BALANCE",
    "2006": "USER_NOT_FOUND",
    "2007": "USER_IS_BLOCKED",
    "2008": "OTP_EXPIRED",
    "2010": "FAILED",
    "2011": "NOT_ALLOWED",
}
FAILURE_CODES: Final = frozenset({"2004", "2005", "2006", "2007", "2008", "2010", "2011"})
FINAL_CODES: Final = FAILURE_CODES | {"100", "2003"}
OUTCOMES: Final = {"SUCCESS": "100", "PENDING": "2002", "EXPIRED": "2003", "FAILED": "2010"}
CHANNELS: Final = frozenset({"PUSH", "OTP", "QRCODE"})
TOKEN_LIFETIME_SECONDS: Final = 86_400
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_PHONE = re.compile(r"^\+\d{8,15}$")


@dataclass
class V1Transaction:
    """One payment as the simulated CinetPay holds it."""

    merchant_transaction_id: str
    transaction_id: str
    payment_token: str
    notify_token: str
    amount: int
    currency: str
    designation: str
    client_name: str
    client_email: str
    success_url: str
    failed_url: str
    notify_url: str
    code: str = "2001"
    history: list[str] = field(default_factory=lambda: ["INITIATED"])
    deliveries: list[int] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The status word of the current code."""
        return WORDS[self.code]


@dataclass
class V1Misbehaviour:
    """What the status endpoint does wrong, for every payment."""

    status_errors: int = 0
    is_down: bool = False


class CinetPayV1Simulator:
    """CinetPay's current API, its payment page and its notifications, in memory."""

    def __init__(
        self,
        *,
        api_key: str,
        api_password: str,
        clock: Callable[[], float] = time.time,
        deliver_timeout_seconds: float = 10.0,
    ) -> None:
        self._api_key = api_key
        self._api_password = api_password
        self._clock = clock
        self._deliver_timeout = deliver_timeout_seconds
        self.token_lifetime_seconds: float = TOKEN_LIFETIME_SECONDS
        self._tokens: dict[str, float] = {}  # token → expiry (clock seconds)
        self.transactions: dict[str, V1Transaction] = {}
        self._aliases: dict[str, str] = {}  # payment token or CinetPay id → our id
        self.misbehaviour = V1Misbehaviour()
        self.logins = 0
        self.status_requests = 0

    def __repr__(self) -> str:
        return f"CinetPayV1Simulator(transactions={len(self.transactions)})"

    # --- the app

    def routes(self, prefix: str = SANDBOX_PATH) -> list[BaseRoute]:
        """The simulator's routes under ``prefix`` (``/sandbox/cinetpay`` in the sandbox)."""
        return [
            Route(f"{prefix}/v1/oauth/login", self._login, methods=["POST"]),
            Route(f"{prefix}/v1/payment", self._init, methods=["POST"]),
            Route(f"{prefix}/v1/payment/{{identifier}}", self._status, methods=["GET"]),
            Route(f"{prefix}/pay/{{token}}", self._page, methods=["GET", "POST"]),
            Route(f"{prefix}/control", self._control_all, methods=["GET", "POST"]),
            Route(f"{prefix}/control/{{merchant_id}}", self._control, methods=["GET", "POST"]),
        ]

    def app(self, prefix: str = SANDBOX_PATH) -> Starlette:
        """A stand-alone app serving ``routes`` (for tests and scripts)."""
        return Starlette(routes=self.routes(prefix))

    # --- the state, usable in-process too

    def settle(self, merchant_id: str, outcome: str, *, code: str | None = None) -> V1Transaction:
        """Move a payment: SUCCESS, FAILED (with a payer ``code``), EXPIRED or PENDING."""
        tx = self.transactions[merchant_id]
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        new = OUTCOMES[outcome]
        if outcome == "FAILED" and code:
            if code not in FAILURE_CODES:
                raise ValueError(
                    f"code must be a failure code ({', '.join(sorted(FAILURE_CODES))})"
                )
            new = code
        if tx.code in FINAL_CODES and tx.code != new:
            raise ValueError(f"the payment is already {tx.status}")
        if new in FINAL_CODES and tx.code == "2001":
            tx.history.append("PENDING")  # a payer always passes through PENDING
        tx.code = new
        tx.history.append(tx.status)
        return tx

    def notification(self, merchant_id: str) -> bytes:
        """The JSON body CinetPay posts to the notify_url for this payment."""
        tx = self.transactions[merchant_id]
        body: dict[str, Any] = {
            "notify_token": tx.notify_token,
            "merchant_transaction_id": tx.merchant_transaction_id,
            "transaction_id": tx.transaction_id,
        }
        if tx.code != "2001":
            # ``user`` is optional (SDK types); sent here once a payer has acted (INF): before
            # that nobody has paid, and CinetPay notifies on final statuses anyway
            body["user"] = {
                "name": tx.client_name,
                "email": tx.client_email,
                "phone_number": "+2250707070707",
            }
        return json.dumps(body).encode()

    async def deliver(self, merchant_id: str, *, copies: int = 1) -> list[int]:
        """POST the notification to the payment's notify_url; the HTTP status of each (0: none).

        Not retried: CinetPay's retry schedule is unknown, and the return page and the
        reconciler catch up with a lost notification.
        """
        tx = self.transactions[merchant_id]
        body = self.notification(merchant_id)
        results: list[int] = []
        async with httpx.AsyncClient(timeout=self._deliver_timeout) as client:
            for _ in range(max(copies, 1)):
                try:
                    response = await client.post(
                        tx.notify_url, content=body, headers={"content-type": "application/json"}
                    )
                    results.append(response.status_code)
                except httpx.HTTPError:
                    results.append(0)
        tx.deliveries.extend(results)
        return results

    def status_answer(self, identifier: str) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body ``GET /v1/payment/{identifier}`` answers."""
        tx = self.transactions.get(self._aliases.get(identifier, identifier))
        if tx is None:
            return 404, _error("404", "NOT_FOUND", "transaction not found")
        return 200, {
            "code": int(tx.code),
            "status": tx.status,
            "merchant_transaction_id": tx.merchant_transaction_id,
            "transaction_id": tx.transaction_id,
            "user": {"name": tx.client_name, "email": tx.client_email, "phone_number": ""},
        }

    def issue_token(self) -> str:
        """A new Bearer token (JWT-shaped, unsigned: only this simulator reads it)."""
        expires = self._clock() + self.token_lifetime_seconds
        header = _b64({"alg": "none", "typ": "JWT"})
        payload = _b64({"exp": int(expires), "jti": secrets.token_hex(8)})
        token = f"{header}.{payload}.{secrets.token_urlsafe(16)}"
        self._tokens[token] = expires
        return token

    def expire_tokens(self) -> None:
        """Every token issued so far answers EXPIRED_TOKEN from now on."""
        for token in self._tokens:
            self._tokens[token] = 0.0

    # --- endpoints

    async def _login(self, request: Request) -> Response:
        body = await _json_body(request)
        if body is None:
            return JSONResponse(_error("1004", "INVALID_PARAMS", "body must be JSON"), 400)
        key = str(body.get("api_key", "")).encode()
        password = str(body.get("api_password", "")).encode()
        # both comparisons always run: timing says nothing about which one failed
        good = secrets.compare_digest(key, self._api_key.encode()) & secrets.compare_digest(
            password, self._api_password.encode()
        )
        if not good:
            return JSONResponse(_error("1005", "INVALID_CREDENTIALS", "bad credentials"), 401)
        self.logins += 1
        return JSONResponse({"code": 200, "status": "OK", "access_token": self.issue_token()})

    async def _init(self, request: Request) -> Response:
        refused = self._refuse_bearer(request)
        if refused is not None:
            return refused
        body = await _json_body(request)
        if body is None:
            return JSONResponse(_error("1004", "INVALID_PARAMS", "body must be JSON"), 400)
        problem = validate(body)
        if problem is not None:
            return JSONResponse(_error("1004", "INVALID_PARAMS", problem), 400)
        merchant_id = str(body["merchant_transaction_id"])
        if merchant_id in self.transactions:
            return JSONResponse(_error("1200", "TRANSACTION_EXIST", "already used"), 400)
        tx = self._create(body)
        page = str(request.url.replace(query="")).removesuffix("/v1/payment") + "/pay/"
        return JSONResponse(
            {
                "code": 200,
                "status": "OK",
                "payment_token": tx.payment_token,
                "notify_token": tx.notify_token,
                "transaction_id": tx.transaction_id,
                "merchant_transaction_id": merchant_id,
                "payment_url": page + tx.payment_token,
                "details": {
                    "code": 2001,
                    "status": "INITIATED",
                    "message": "payment initiated",
                    "must_be_redirected": True,
                },
            }
        )

    async def _status(self, request: Request) -> Response:
        self.status_requests += 1
        behaviour = self.misbehaviour
        if behaviour.is_down or behaviour.status_errors > 0:
            behaviour.status_errors = max(behaviour.status_errors - 1, 0)
            return HTMLResponse("<h1>503 Service Unavailable</h1>", status_code=503)
        refused = self._refuse_bearer(request)
        if refused is not None:
            return refused
        code, answer = self.status_answer(request.path_params["identifier"])
        return JSONResponse(answer, status_code=code)

    async def _page(self, request: Request) -> Response:
        merchant_id = self._aliases.get(request.path_params["token"])
        if merchant_id is None:
            return HTMLResponse("<p>Paiement introuvable.</p>", status_code=404)
        tx = self.transactions[merchant_id]
        if request.method == "GET":
            return HTMLResponse(_page_html(tx))
        action = str((await request.form()).get("action", ""))
        outcomes = {"pay": "SUCCESS", "refuse": "FAILED", "expire": "EXPIRED"}
        if action not in outcomes:
            return PlainTextResponse("unknown action", status_code=400)
        try:
            self.settle(merchant_id, outcomes[action])
        except ValueError as exc:
            return PlainTextResponse(str(exc), status_code=409)
        await self.deliver(merchant_id)
        # the buyer goes back to the shop in one step (how CinetPay's page sends them is
        # undocumented; a redirect after the POST is the plain way)
        return RedirectResponse(tx.success_url if action == "pay" else tx.failed_url, 303)

    async def _control(self, request: Request) -> Response:
        merchant_id = request.path_params["merchant_id"]
        if merchant_id not in self.transactions:
            return JSONResponse({"error": "unknown transaction"}, status_code=404)
        if request.method == "GET":
            return JSONResponse(
                {
                    "transaction": _public(self.transactions[merchant_id]),
                    "notification": self.notification(merchant_id).decode(),
                }
            )
        form = await request.form()
        try:
            copies = int(str(form.get("duplicates") or 1))
            tx = self.settle(
                merchant_id, str(form.get("outcome", "")), code=str(form.get("code") or "")
            )
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        deliveries: list[int] = []
        if str(form.get("notify", "1")) == "1" and tx.code in FINAL_CODES:
            deliveries = await self.deliver(merchant_id, copies=copies)
        return JSONResponse({"transaction": _public(tx), "deliveries": deliveries})

    async def _control_all(self, request: Request) -> Response:
        if request.method == "POST":
            form = await request.form()
            behaviour = self.misbehaviour
            try:
                if str(form.get("reset", "")) == "1":
                    behaviour.status_errors, behaviour.is_down = 0, False
                    self.token_lifetime_seconds = TOKEN_LIFETIME_SECONDS
                if str(form.get("expire_tokens", "")) == "1":
                    self.expire_tokens()
                if form.get("token_lifetime") is not None:
                    self.token_lifetime_seconds = max(float(str(form["token_lifetime"])), 0.0)
                if form.get("status_errors") is not None:
                    behaviour.status_errors = max(int(str(form["status_errors"])), 0)
                if form.get("down") is not None:
                    behaviour.is_down = str(form["down"]) == "1"
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"logins": self.logins, "status_requests": self.status_requests})

    # --- helpers

    def _refuse_bearer(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expires = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expires is None:
            return JSONResponse(_error("1002", "INVALID_TOKEN", "token not valid"), 401)
        if self._clock() >= expires:
            return JSONResponse(_error("1003", "EXPIRED_TOKEN", "token expired"), 401)
        return None

    def _create(self, body: Mapping[str, Any]) -> V1Transaction:
        tx = V1Transaction(
            merchant_transaction_id=str(body["merchant_transaction_id"]),
            transaction_id="CP" + secrets.token_hex(8).upper(),
            payment_token=secrets.token_urlsafe(24),
            notify_token=secrets.token_urlsafe(32),
            amount=int(body["amount"]),
            currency=str(body["currency"]),
            designation=str(body["designation"]),
            client_name=f"{body['client_first_name']} {body['client_last_name']}",
            client_email=str(body["client_email"]),
            success_url=str(body["success_url"]),
            failed_url=str(body["failed_url"]),
            notify_url=str(body["notify_url"]),
        )
        self.transactions[tx.merchant_transaction_id] = tx
        self._aliases[tx.payment_token] = tx.merchant_transaction_id
        self._aliases[tx.transaction_id] = tx.merchant_transaction_id
        return tx


def validate(body: Mapping[str, Any]) -> str | None:
    """The first rule of CinetPay's SDK validation ``body`` breaks, named; None if none."""
    checks: list[tuple[str, bool]] = [
        ("currency", body.get("currency") in rules.CURRENCIES),
        ("merchant_transaction_id", _text(body, "merchant_transaction_id", 1, 30)),
        ("amount", _amount(body.get("amount"))),
        ("lang", body.get("lang") in ("fr", "en")),
        ("designation", _text(body, "designation", 1, 255)),
        (
            "client_email",
            isinstance(body.get("client_email"), str)
            and bool(_EMAIL.match(str(body["client_email"]))),
        ),
        ("client_first_name", _text(body, "client_first_name", 2, 255)),
        ("client_last_name", _text(body, "client_last_name", 2, 255)),
        ("success_url", _url(body.get("success_url"))),
        ("failed_url", _url(body.get("failed_url"))),
        ("notify_url", _url(body.get("notify_url"))),
        ("channel", body.get("channel") in CHANNELS),
        (
            "client_phone_number",
            body.get("client_phone_number") is None
            or bool(_PHONE.match(str(body["client_phone_number"]))),
        ),
    ]
    for name, is_good in checks:
        if not is_good:
            return f"{name} is invalid"
    return None


def _text(body: Mapping[str, Any], name: str, low: int, high: int) -> bool:
    value = body.get(name)
    return isinstance(value, str) and low <= len(value) <= high


def _amount(value: Any) -> bool:
    return type(value) is int and rules.MIN_AMOUNT <= value <= rules.MAX_AMOUNT


def _url(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 120
        and value.startswith(("http://", "https://"))
    )


def _error(code: str, status: str, description: str) -> dict[str, Any]:
    # error bodies are {code, status, description} (CinetPay SDK's error type)
    return {"code": int(code), "status": status, "description": description}


async def _json_body(request: Request) -> Mapping[str, Any] | None:
    try:
        decoded = json.loads(await request.body())
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _b64(value: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _public(tx: V1Transaction) -> dict[str, Any]:
    keys = ("merchant_transaction_id", "transaction_id", "amount", "currency", "code")
    return {
        **{key: getattr(tx, key) for key in keys},
        "status": tx.status,
        "history": tx.history,
        "deliveries": tx.deliveries,
    }


def _page_html(tx: V1Transaction) -> str:
    amount = html.escape(f"{tx.amount} {tx.currency}")
    title = html.escape(tx.designation)
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>CinetPay (simulateur)</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 30rem; margin: 2rem auto">
<h1>CinetPay — simulateur</h1>
<p>Bac à sable (API actuelle) : aucun argent ne circule.</p>
<p>{title}<br>Montant : <strong>{amount}</strong></p>
<form method="post">
  <button name="action" value="pay">Payer</button>
  <button name="action" value="refuse">Refuser</button>
  <button name="action" value="expire">Laisser expirer</button>
</form>
</body></html>"""
