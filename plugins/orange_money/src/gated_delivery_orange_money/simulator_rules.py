"""What the simulator refuses, and the error answers it refuses with.

Only answers our facts show are produced: Orange's gateway errors ``{code, message,
description}`` with their documented HTTP statuses and codes (401 codes 40-42, 404 code 60,
429 code 53, 503 code 5) and a 400 for a request Orange would not take. Where Orange's exact
answer is unknown, the comment next to it says so and what the simulator picks.

The field rules are the ones Orange's WebPay guide states (types, lengths, a unique
``order_id``, the account's merchant key and currency); where the guide is silent the
simulator refuses what it cannot be sure Orange takes, so a request that passes here
should pass at Orange.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Final, TypeGuard
from urllib.parse import urlsplit

from starlette.responses import JSONResponse, Response

from gated_delivery_orange_money import protocol

# Orange documents 400 with codes 20-28 for "invalid URL, body, field or header" without
# saying which code means what, and WebPay's own business errors (a reused order_id, a wrong
# merchant key or currency) are undocumented: these two codes inside that range are our
# picks. The plugin treats every 400 alike, so nothing depends on the exact number.
CODE_INVALID_BODY: Final = 21
CODE_INVALID_FIELD: Final = 25
CODE_UNAVAILABLE: Final = 5
#: The only ``lang`` values seen in Orange's examples (``fr``) and in public code (``en``);
#: whether Orange takes others is an open question, so the simulator refuses them.
LANGS: Final = frozenset({"fr", "en"})
#: The init request's string fields: (name, required, maximum length or None).
INIT_TEXT_FIELDS: Final = (
    ("order_id", True, protocol.MAX_ORDER_ID),
    ("return_url", True, protocol.MAX_URL),
    ("cancel_url", True, protocol.MAX_URL),
    ("notif_url", True, protocol.MAX_URL),
    ("reference", False, protocol.MAX_REFERENCE),
)
JSON_TYPE: Final = "application/json"
FORM_TYPE: Final = "application/x-www-form-urlencoded"


def gateway_error(status: int, code: int, message: str, description: str = "") -> JSONResponse:
    """An error in the shape of Orange's API gateway: ``{code, message, description}``."""
    return JSONResponse(
        {"code": code, "message": message, "description": description or message},
        status_code=status,
    )


def missing_credentials() -> JSONResponse:
    """401 code 40: no (usable) ``Authorization`` header."""
    return gateway_error(401, protocol.CODE_MISSING_CREDENTIALS, "Missing credentials")


def invalid_credentials() -> JSONResponse:
    """401 code 41: credentials or token the gateway does not know."""
    return gateway_error(401, protocol.CODE_INVALID_CREDENTIALS, "Invalid credentials")


def expired_credentials() -> JSONResponse:
    """401 code 42: a token past its ``expires_in`` (Orange's own wording)."""
    return gateway_error(
        401,
        protocol.CODE_EXPIRED_CREDENTIALS,
        "Expired credentials",
        "The requested service needs credentials, but the ones provided were out-of-date.",
    )


def not_found() -> JSONResponse:
    """404 code 60: a wrong path or country segment, or an API the app is not enabled for."""
    return gateway_error(404, protocol.CODE_NOT_FOUND, "Resource not found")


def too_many_requests() -> JSONResponse:
    """429 code 53: the token endpoint's rate limit (the facts also show 403 for it)."""
    return gateway_error(429, protocol.CODE_TOO_MANY_REQUESTS, "Too many requests")


def unavailable() -> JSONResponse:
    """503 code 5: the service is down."""
    return gateway_error(503, CODE_UNAVAILABLE, "Service unavailable", "try again later")


def not_acceptable() -> Response:
    """406 without ``Accept: application/json``.

    Orange documents the status but not a body for it: the simulator sends none rather than
    invent a code, so a client cannot come to rely on one.
    """
    return Response(status_code=406)


def invalid_body(description: str) -> JSONResponse:
    """400: a body Orange cannot read (not JSON, not a form, wrong ``Content-Type``)."""
    return gateway_error(400, CODE_INVALID_BODY, "Invalid body", description)


def invalid_field(description: str) -> JSONResponse:
    """400: a body field Orange would refuse (the exact code is our pick, see above)."""
    return gateway_error(400, CODE_INVALID_FIELD, "Invalid body field", description)


def media_type(content_type: str) -> str:
    """The media type of a ``Content-Type`` header, without parameters, lower case."""
    return content_type.split(";", 1)[0].strip().lower()


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_web_url(value: str) -> bool:
    # Orange calls notif_url and redirects to the others, so each must be absolute. Whether
    # Orange insists on HTTPS is an open question: http is taken (the sandbox is loopback).
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def init_problem(
    data: Mapping[str, Any], *, merchant_key: str, currency: str, used_order_ids: set[str]
) -> str:
    """Why Orange would refuse this ``webpayment`` body, or ``""`` when it would take it."""
    if not isinstance(data.get("merchant_key"), str) or not hmac.compare_digest(
        data["merchant_key"].encode(), merchant_key.encode()
    ):
        return "merchant_key is not this merchant's"
    if data.get("currency") != currency:
        return f"currency must be {currency}"
    amount = data.get("amount")
    # Orange's examples send a JSON integer; whether it refuses "1200" or 1200.0 is unknown,
    # so the simulator does, and a plugin that passes here sends what Orange shows
    if not _is_int(amount) or amount <= 0:
        return "amount must be a positive JSON integer (whole units)"
    for name, required, limit in INIT_TEXT_FIELDS:
        value = data.get(name)
        if value is None and not required:
            continue
        if not isinstance(value, str) or not value.strip() or (limit and len(value) > limit):
            return f"{name} must be a string of 1 to {limit} characters"
    for name in ("return_url", "cancel_url", "notif_url"):
        if not _is_web_url(data[name]):
            return f"{name} must be an absolute http(s) URL"
    if data["order_id"] in used_order_ids:
        return "order_id already used: every payment needs a new one"
    if data.get("lang") not in LANGS:
        return f"lang must be one of {', '.join(sorted(LANGS))}"
    return ""


def status_fields(data: Mapping[str, Any]) -> tuple[str, int, str] | str:
    """``(order_id, amount, pay_token)`` of a ``transactionstatus`` body, or the problem."""
    order_id, amount, pay_token = data.get("order_id"), data.get("amount"), data.get("pay_token")
    if not isinstance(order_id, str) or not order_id:
        return "order_id must be the string sent to webpayment"
    if not _is_int(amount):
        return "amount must be the JSON integer sent to webpayment"
    if not isinstance(pay_token, str) or not pay_token:
        return "pay_token must be the one webpayment answered"
    return order_id, amount, pay_token
