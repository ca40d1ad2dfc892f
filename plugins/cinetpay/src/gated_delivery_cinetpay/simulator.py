"""An in-memory CinetPay (Checkout API v2), for the sandbox demo and the tests.

It answers the same endpoints with the same shapes as the real API (facts file, sections 1-4):
``POST /v2/payment`` and ``POST /v2/payment/check``, plus a payment page where a person picks
Pay, Refuse or Abandon. As CinetPay does, it pings the ``notify_url`` with a GET without data
when a payment is created, POSTs a signed WAITING_FOR_CUSTOMER notification when the buyer
opens the payment page, and on Pay or Refuse POSTs the signed notification of the new status,
then sends the buyer back to the ``return_url`` with a POST.

It refuses what the facts file says CinetPay refuses, with code 608 (a missing or invalid
field: a description with ``# / $ _ &``, a transaction id beyond 25 of ``[A-Za-z0-9-]``, an
amount that is not an integer multiple of 5 at or over the currency's minimum, the card
customer fields missing with ``channels=CREDIT_CARD``), 609/613 (bad apikey / site_id), 403
(not JSON) and 1010 (no User-Agent). Which HTTP status comes with each is undocumented; errors
answer 400, the 403 and 1010 refusals 403.

Control endpoints (sandbox only) let tests and scripts act without a browser:

- ``POST {prefix}/control/{transaction_id}``: settle a payment. Form fields: ``outcome``
  (ACCEPTED | REFUSED), ``notify`` (1 | 0, default 1), and optionally ``code`` (the refusal
  code, default 600; 627 is a cancellation), ``amount`` (report another amount: a short
  payment), ``duplicates`` (send the notification that many times), ``check_lag`` (the next
  that many checks still say WAITING: the notification arrives before the check agrees).
- ``GET {prefix}/control/{transaction_id}``: the transaction, and the notification it would
  send now (body and ``x-token``).
- ``POST {prefix}/control``: misbehave on every check. ``check_delay`` (seconds before
  answering), ``check_errors`` (the next that many checks answer 503), ``down`` (1: every check
  answers 503 until 0), ``reset`` (1: behave again).

Each instance keeps its own state; nothing lives at module level, so two apps in one process
are two independent simulators.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from gated_delivery_cinetpay import rules, xtoken
from gated_delivery_cinetpay.settings import SANDBOX_PATH

WAITING: Final = ("662", "WAITING_CUSTOMER_PAYMENT", "WAITING_FOR_CUSTOMER")
ACCEPTED: Final = ("00", "SUCCES", "ACCEPTED")
#: Refusal codes the simulator knows how to name (facts file, section 3).
REFUSALS: Final = {
    "600": "PAYMENT_FAILED",
    "602": "INSUFFICIENT_BALANCE",
    "604": "OTP_CODE_ERROR",
    "627": "TRANSACTION_CANCEL",
    "641": "ERROR_AMOUNT_TOO_LOW",
    "804": "OPERATOR_UNAVAILABLE",
}
CHANNELS: Final = frozenset({"ALL", "MOBILE_MONEY", "CREDIT_CARD", "WALLET"})
REQUIRED_INIT: Final = (
    "apikey",
    "site_id",
    "transaction_id",
    "amount",
    "currency",
    "description",
    "notify_url",
    "return_url",
    "channels",
)
#: What CinetPay's PHP SDK requires with the card option (facts file, section 1).
CARD_FIELDS: Final = (
    "customer_name",
    "customer_surname",
    "customer_email",
    "customer_phone_number",
    "customer_address",
    "customer_city",
    "customer_country",
    "customer_state",
    "customer_zip_code",
)
_TRANSACTION_ID = re.compile(r"[A-Za-z0-9-]{1,25}\Z", re.ASCII)
MAX_CHECK_DELAY_SECONDS: Final = 30.0
DATE_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


@dataclass
class SimTransaction:
    """One transaction as the simulated CinetPay server holds it."""

    transaction_id: str
    payment_token: str
    amount: int
    currency: str
    description: str
    notify_url: str
    return_url: str
    channels: str
    lang: str
    metadata: str | None
    changed_at: str
    code: str = WAITING[0]
    message: str = WAITING[1]
    status: str = WAITING[2]
    reported_amount: int | None = None
    check_lag: int = 0
    payment_method: str = ""
    operator_id: str | None = None
    payment_date: str = " "  # what the official example shows for an unpaid transaction
    signature: str = field(default_factory=lambda: secrets.token_hex(12))
    customer: dict[str, str] = field(default_factory=dict)
    deliveries: list[int] = field(default_factory=list)
    pings: list[int] = field(default_factory=list)
    page_opened: bool = False


@dataclass
class Misbehaviour:
    """What the check endpoint does wrong, for every transaction."""

    check_delay_seconds: float = 0.0
    check_errors: int = 0
    is_down: bool = False


class CinetPaySimulator:
    """CinetPay's Checkout API v2, its payment page and its notifications, in memory."""

    def __init__(
        self,
        *,
        api_key: str,
        site_id: str,
        secret_key: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        deliver_timeout_seconds: float = 10.0,
    ) -> None:
        self._api_key = api_key
        self._site_id = site_id
        self._secret_key = secret_key
        self._now = now
        self._deliver_timeout = deliver_timeout_seconds
        self.transactions: dict[str, SimTransaction] = {}
        self._by_token: dict[str, str] = {}
        self.misbehaviour = Misbehaviour()
        self.checks = 0

    # --- the app

    def routes(self, prefix: str = SANDBOX_PATH) -> list[BaseRoute]:
        """The simulator's routes under ``prefix`` (``/sandbox/cinetpay`` in the sandbox)."""
        return [
            Route(f"{prefix}/v2/payment", self._init, methods=["POST"]),
            Route(f"{prefix}/v2/payment/check", self._check, methods=["POST"]),
            Route(f"{prefix}/payment/{{token}}", self._page, methods=["GET", "POST"]),
            Route(f"{prefix}/control", self._control_all, methods=["POST"]),
            Route(f"{prefix}/control/{{transaction_id}}", self._control, methods=["GET", "POST"]),
        ]

    def app(self, prefix: str = SANDBOX_PATH) -> Starlette:
        """A stand-alone app serving ``routes`` (for tests and scripts)."""
        return Starlette(routes=self.routes(prefix))

    # --- the state, usable in-process too

    def settle(
        self,
        transaction_id: str,
        outcome: str,
        *,
        code: str | None = None,
        amount: int | None = None,
        check_lag: int = 0,
    ) -> SimTransaction:
        """Decide a transaction: ``ACCEPTED`` or ``REFUSED`` (with a refusal ``code``)."""
        tx = self.transactions[transaction_id]
        if outcome == "ACCEPTED":
            tx.code, tx.message, tx.status = ACCEPTED
            tx.payment_method = "OM"
            tx.operator_id = "MP" + secrets.token_hex(6).upper()
            tx.payment_date = self._stamp()
        elif outcome == "REFUSED":
            refusal = code or "600"
            tx.code, tx.message, tx.status = refusal, REFUSALS.get(refusal, "REFUSED"), "REFUSED"
            tx.payment_method = "OM"
            tx.operator_id = None
            tx.payment_date = " "
        else:
            raise ValueError(f"outcome must be ACCEPTED or REFUSED, not {outcome!r}")
        tx.reported_amount = amount
        tx.check_lag = max(check_lag, 0)
        tx.changed_at = self._stamp()
        return tx

    def notification(self, transaction_id: str) -> tuple[bytes, dict[str, str]]:
        """The notification CinetPay would post now: URL-encoded body and headers."""
        tx = self.transactions[transaction_id]
        candidates = (
            ("cpm_site_id", self._site_id),
            ("cpm_trans_id", tx.transaction_id),
            ("cpm_trans_date", tx.changed_at),
            ("cpm_amount", str(self._amount(tx))),
            ("cpm_currency", tx.currency),
            ("signature", tx.signature),
            ("payment_method", tx.payment_method),
            ("cel_phone_num", "0707070707" if tx.payment_method else ""),
            ("cpm_phone_prefixe", "225" if tx.payment_method else ""),
            ("cpm_language", tx.lang),
            ("cpm_version", "V4"),
            ("cpm_payment_config", "SINGLE"),
            ("cpm_page_action", "PAYMENT"),
            ("cpm_custom", tx.metadata or ""),
            ("cpm_designation", tx.description),
            ("cpm_error_message", tx.message),
        )
        # CinetPay omits empty fields rather than posting them blank
        fields = [(name, value) for name, value in candidates if value]
        # signed the way CinetPay's PHP sample checks it: every posted value, in posted order
        token = xtoken.compute(self._secret_key, xtoken.arrival_string(fields))
        body = urlencode(fields).encode()
        return body, {"content-type": "application/x-www-form-urlencoded", xtoken.HEADER: token}

    async def deliver(self, transaction_id: str, *, copies: int = 1) -> list[int]:
        """POST the notification to the transaction's notify_url; the HTTP status of each.

        A delivery that fails is recorded as 0 and not retried: the real retry schedule is
        unknown, and the return page and the reconciler catch up with lost notifications.
        """
        tx = self.transactions[transaction_id]
        body, headers = self.notification(transaction_id)
        results: list[int] = []
        async with httpx.AsyncClient(timeout=self._deliver_timeout) as client:
            for _ in range(max(copies, 1)):
                try:
                    response = await client.post(tx.notify_url, content=body, headers=headers)
                    results.append(response.status_code)
                except httpx.HTTPError:
                    results.append(0)
        tx.deliveries.extend(results)
        return results

    async def ping(self, transaction_id: str) -> int:
        """GET the notify_url without data, as CinetPay checks it is up; the HTTP status (0)."""
        tx = self.transactions[transaction_id]
        async with httpx.AsyncClient(timeout=self._deliver_timeout) as client:
            try:
                status = (await client.get(tx.notify_url)).status_code
            except httpx.HTTPError:
                status = 0
        tx.pings.append(status)
        return status

    def check_answer(self, transaction_id: str) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body ``/v2/payment/check`` answers for a transaction."""
        tx = self.transactions.get(transaction_id)
        if tx is None:
            # undocumented: what CinetPay answers for an unknown transaction id; an invalid
            # value is 608 by the facts file, and an error envelope has no data
            return 400, self._envelope(
                "608", "MINIMUM_REQUIRED_FIELDS", description="unknown transaction_id"
            )
        code, message, status = tx.code, tx.message, tx.status
        if tx.check_lag > 0:
            tx.check_lag -= 1
            code, message, status = WAITING
        is_paid = status == "ACCEPTED"
        data = {
            "amount": str(self._amount(tx)),
            "currency": tx.currency,
            "status": status,
            "payment_method": tx.payment_method if status != "WAITING_FOR_CUSTOMER" else "",
            "description": tx.description,
            "metadata": tx.metadata,
            "operator_id": tx.operator_id if is_paid else None,
            "payment_date": tx.payment_date if is_paid else " ",
            "fund_availability_date": tx.payment_date if is_paid else " ",
        }
        return 200, self._envelope(code, message, data=data)

    # --- endpoints

    async def _init(self, request: Request) -> Response:
        refused = self._refuse_request(request)
        if refused is not None:
            return refused
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self._error(400, "608", "MINIMUM_REQUIRED_FIELDS", "the body is not JSON")
        if not isinstance(body, dict) or any(body.get(key) in (None, "") for key in REQUIRED_INIT):
            return self._error(400, "608", "MINIMUM_REQUIRED_FIELDS", "a field is missing")
        credentials = self._refuse_credentials(body)
        if credentials is not None:
            return credentials
        problem = _invalid_field(body)
        if problem is not None:
            return self._error(400, "608", "MINIMUM_REQUIRED_FIELDS", problem)
        transaction_id = str(body["transaction_id"])
        if transaction_id in self.transactions:
            # reuse is refused (2021 draft doc); the code it comes with is not documented
            return self._error(400, "608", "MINIMUM_REQUIRED_FIELDS", "transaction_id is used")
        amount, currency = int(body["amount"]), str(body["currency"])
        token = secrets.token_urlsafe(24)
        metadata = body.get("metadata")
        self.transactions[transaction_id] = SimTransaction(
            transaction_id=transaction_id,
            payment_token=token,
            amount=amount,
            currency=currency,
            description=str(body["description"]),
            notify_url=str(body["notify_url"]),
            return_url=str(body["return_url"]),
            channels=str(body["channels"]),
            lang=str(body.get("lang") or "fr"),
            metadata=None if metadata is None else str(metadata),
            changed_at=self._stamp(),
            customer={name: str(body[name]) for name in CARD_FIELDS if body.get(name)},
        )
        self._by_token[token] = transaction_id
        await self.ping(transaction_id)
        page = str(request.url.replace(query="")).removesuffix("/v2/payment") + "/payment/"
        return JSONResponse(
            self._envelope(
                "201",
                "CREATED",
                description="Transaction created with success",
                data={"payment_token": token, "payment_url": page + token},
            )
        )

    async def _check(self, request: Request) -> Response:
        self.checks += 1
        behaviour = self.misbehaviour
        if behaviour.check_delay_seconds:
            await asyncio.sleep(behaviour.check_delay_seconds)
        if behaviour.is_down or behaviour.check_errors > 0:
            behaviour.check_errors = max(behaviour.check_errors - 1, 0)
            return HTMLResponse("<h1>503 Service Unavailable</h1>", status_code=503)
        refused = self._refuse_request(request)
        if refused is not None:
            return refused
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self._error(400, "608", "MINIMUM_REQUIRED_FIELDS", "the body is not JSON")
        if not isinstance(body, dict):
            return self._error(400, "608", "MINIMUM_REQUIRED_FIELDS", "the body is not an object")
        credentials = self._refuse_credentials(body)
        if credentials is not None:
            return credentials
        # the French doc allows the payment token instead of the transaction id
        transaction_id = str(body.get("transaction_id") or "")
        if not transaction_id and body.get("token"):
            transaction_id = self._by_token.get(str(body["token"]), "")
        if not transaction_id:
            return self._error(400, "608", "MINIMUM_REQUIRED_FIELDS", "transaction_id")
        status, envelope = self.check_answer(transaction_id)
        return JSONResponse(envelope, status_code=status)

    async def _page(self, request: Request) -> Response:
        transaction_id = self._by_token.get(request.path_params["token"])
        if transaction_id is None:
            return HTMLResponse("<p>Paiement introuvable.</p>", status_code=404)
        tx = self.transactions[transaction_id]
        if request.method == "GET":
            if not tx.page_opened:
                # the first notification: the payment now waits for the customer
                tx.page_opened = True
                await self.deliver(transaction_id)
            return HTMLResponse(_page_html(tx))
        action = str((await request.form()).get("action", ""))
        if action == "pay":
            self.settle(transaction_id, "ACCEPTED")
        elif action == "refuse":
            self.settle(transaction_id, "REFUSED")
        elif action != "abandon":
            return PlainTextResponse("unknown action", status_code=400)
        if action != "abandon":
            # CinetPay notifies on each status change; an abandoned page sends nothing
            await self.deliver(transaction_id)
        return HTMLResponse(_return_html(tx))

    async def _control(self, request: Request) -> Response:
        transaction_id = request.path_params["transaction_id"]
        if transaction_id not in self.transactions:
            return JSONResponse({"error": "unknown transaction"}, status_code=404)
        if request.method == "GET":
            body, headers = self.notification(transaction_id)
            return JSONResponse(
                {
                    "transaction": _public(self.transactions[transaction_id]),
                    "notification": {
                        "body": body.decode(),
                        "content_type": headers["content-type"],
                        "x_token": headers[xtoken.HEADER],
                    },
                }
            )
        form = await request.form()
        outcome = str(form.get("outcome", ""))
        try:
            code = str(form.get("code") or "") or None
            amount = _optional_int(form.get("amount"))
            copies = _optional_int(form.get("duplicates")) or 1
            lag = _optional_int(form.get("check_lag")) or 0
            tx = self.settle(transaction_id, outcome, code=code, amount=amount, check_lag=lag)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        deliveries: list[int] = []
        if str(form.get("notify", "1")) == "1":
            deliveries = await self.deliver(transaction_id, copies=copies)
        return JSONResponse({"transaction": _public(tx), "deliveries": deliveries})

    async def _control_all(self, request: Request) -> Response:
        form = await request.form()
        behaviour = self.misbehaviour
        try:
            if str(form.get("reset", "")) == "1":
                behaviour.check_delay_seconds, behaviour.check_errors = 0.0, 0
                behaviour.is_down = False
            if form.get("check_delay") is not None:
                delay = float(str(form["check_delay"]))
                behaviour.check_delay_seconds = min(max(delay, 0.0), MAX_CHECK_DELAY_SECONDS)
            if form.get("check_errors") is not None:
                behaviour.check_errors = max(int(str(form["check_errors"])), 0)
            if form.get("down") is not None:
                behaviour.is_down = str(form["down"]) == "1"
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"misbehaviour": asdict(behaviour), "checks": self.checks})

    # --- helpers

    def _refuse_request(self, request: Request) -> Response | None:
        if not request.headers.get("user-agent"):
            return self._error(403, "1010", "BLOCKED", "no User-Agent")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return self._error(403, "403", "FORBIDDEN", "send JSON")
        return None

    def _refuse_credentials(self, body: Mapping[str, Any]) -> Response | None:
        given_key = str(body.get("apikey", "")).encode()
        if not secrets.compare_digest(given_key, self._api_key.encode()):
            return self._error(400, "609", "AUTH_NOT_FOUND", "bad apikey")
        if str(body.get("site_id", "")) != self._site_id:
            return self._error(400, "613", "ERROR_SITE_ID_NOTVALID", "bad site_id")
        return None

    def _amount(self, tx: SimTransaction) -> int:
        return tx.amount if tx.reported_amount is None else tx.reported_amount

    def _stamp(self) -> str:
        return self._now().strftime(DATE_FORMAT)

    def _envelope(
        self,
        code: str,
        message: str,
        *,
        description: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        envelope: dict[str, Any] = {"code": code, "message": message}
        if description is not None:
            envelope["description"] = description
        if data is not None:
            envelope["data"] = dict(data)
        envelope["api_response_id"] = f"{self._now().timestamp():.4f}"
        return envelope

    def _error(self, status: int, code: str, message: str, description: str) -> JSONResponse:
        # error envelopes carry no ``data`` (facts file, section 1)
        return JSONResponse(
            self._envelope(code, message, description=description), status_code=status
        )


def _invalid_field(body: Mapping[str, Any]) -> str | None:
    """The first field of an initialisation CinetPay would refuse (code 608), named."""
    amount, currency = body["amount"], str(body["currency"])
    if type(amount) is not int or amount <= 0:
        return "amount must be an integer"
    if currency not in rules.CURRENCIES:
        return "currency"
    # a multiple of 5 is official; whether CinetPay refuses or rounds others is not: refused
    if amount % rules.MULTIPLE_OF or amount < rules.MINIMUM_MAJOR[currency]:
        return "amount must be a multiple of 5, at least the currency's minimum"
    if not _TRANSACTION_ID.match(str(body["transaction_id"])):
        return "transaction_id must be at most 25 of A-Z, a-z, 0-9 and -"
    if rules.AVOIDED_IN_DESCRIPTION.search(str(body["description"])):
        return "description must not hold # / $ _ &"
    if str(body["channels"]) not in CHANNELS:
        return "channels"
    if body["channels"] == "CREDIT_CARD":
        missing = [name for name in CARD_FIELDS if not body.get(name)]
        if missing:
            return "the card option needs " + ", ".join(missing)
    return None


def _optional_int(value: Any) -> int | None:
    if value is None or str(value) == "":
        return None
    return int(str(value))


def _public(tx: SimTransaction) -> dict[str, Any]:
    keys = (
        "transaction_id",
        "amount",
        "currency",
        "status",
        "code",
        "message",
        "customer",
        "deliveries",
        "pings",
    )
    return {key: getattr(tx, key) for key in keys}


def _page_html(tx: SimTransaction) -> str:
    amount = html.escape(f"{tx.amount} {tx.currency}")
    title = html.escape(tx.description)
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>CinetPay (simulateur)</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 30rem; margin: 2rem auto">
<h1>CinetPay — simulateur</h1>
<p>Bac à sable : aucun argent ne circule.</p>
<p>{title}<br>Montant : <strong>{amount}</strong></p>
<form method="post">
  <button name="action" value="pay">Payer</button>
  <button name="action" value="refuse">Refuser</button>
  <button name="action" value="abandon">Abandonner</button>
</form>
</body></html>"""


def _return_html(tx: SimTransaction) -> str:
    # CinetPay sends the buyer back with a POST of transaction_id and token
    action = html.escape(tx.return_url, quote=True)
    transaction_id = html.escape(tx.transaction_id, quote=True)
    token = html.escape(tx.payment_token, quote=True)
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Retour au site</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{action}">
  <input type="hidden" name="transaction_id" value="{transaction_id}">
  <input type="hidden" name="token" value="{token}">
  <noscript><button>Retour au site du marchand</button></noscript>
</form>
</body></html>"""
