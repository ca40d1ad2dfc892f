"""The ``x-token`` header of CinetPay notifications: reading the form and recomputing the HMAC.

The rule (facts file, section 2, official doc and three implementations):

1. take each form value URL-decoded, byte-exact (no trimming, no number coercion);
2. concatenate, with no separator, in the order of ``SIGNED_FIELDS``; an absent field is ``""``;
3. HMAC-SHA256 with the merchant's *Secret Key* (not the API key), as lowercase hex;
4. compare with the ``x-token`` header in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Final
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser

HEADER: Final = "x-token"

#: The order of the documented formula. The doc's field *list* sometimes starts with
#: cpm_trans_id, but its formula always starts with cpm_site_id, and CinetPay posts the
#: fields in this order.
SIGNED_FIELDS: Final = (
    "cpm_site_id",
    "cpm_trans_id",
    "cpm_trans_date",
    "cpm_amount",
    "cpm_currency",
    "signature",
    "payment_method",
    "cel_phone_num",
    "cpm_phone_prefixe",
    "cpm_language",
    "cpm_version",
    "cpm_payment_config",
    "cpm_page_action",
    "cpm_custom",
    "cpm_designation",
    "cpm_error_message",
)

#: A form field as posted: (name, value), in arrival order.
Field = tuple[str, str]


class UnreadableForm(ValueError):
    """The body is not a form we can read exactly (bad encoding, repeated field...)."""


def signed_string(fields: Mapping[str, str]) -> str:
    """The documented message: every ``SIGNED_FIELDS`` value in order, absent ones as ``""``."""
    return "".join(fields.get(name, "") for name in SIGNED_FIELDS)


def arrival_string(fields: Sequence[Field]) -> str:
    """Every posted value in arrival order, as CinetPay's PHP sample signs (``implode``)."""
    return "".join(value for _name, value in fields)


def compute(secret_key: str, message: str) -> str:
    """HMAC-SHA256 of ``message`` (UTF-8) under ``secret_key``, as lowercase hex."""
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def x_token(secret_key: str, fields: Mapping[str, str]) -> str:
    """The ``x-token`` CinetPay sends with these notification fields."""
    return compute(secret_key, signed_string(fields))


def matches(secret_key: str, fields: Sequence[Field], received: str) -> bool:
    """Whether ``received`` is the x-token of ``fields``, compared in constant time.

    Both the documented order and the arrival order are accepted (the facts file's "robust
    option"): CinetPay posts in the documented order, so the two are normally the same string.
    Without separators, moving characters from one field to the next keeps a valid token;
    that is harmless here because a notification only names a payment, and the
    server-to-server check decides the rest.
    """
    given = received.encode("utf-8", "replace")
    documented = compute(secret_key, signed_string(dict(fields))).encode()
    arrival = compute(secret_key, arrival_string(fields)).encode()
    # both comparisons always run, so timing says nothing about which one matched
    return hmac.compare_digest(given, documented) | hmac.compare_digest(given, arrival)


async def read_form(content_type: str, headers: Mapping[str, str], body: bytes) -> list[Field]:
    """The posted fields, in arrival order, values decoded exactly.

    URL-encoded bodies are what CinetPay's PHP sample reads; multipart and a JSON object of
    strings are accepted too, as the exact content type is an open question. A field given
    twice is refused: which value a PHP server would have kept is not something to guess in a
    signature check.
    """
    if content_type == "multipart/form-data":
        fields = await _multipart(headers, body)
    elif content_type == "application/json":
        fields = _json_fields(body)
    else:
        try:
            text = body.decode("utf-8")
            fields = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=64)
        except (UnicodeDecodeError, ValueError):
            raise UnreadableForm("the body is not a UTF-8 URL-encoded form") from None
    names = [name for name, _value in fields]
    if len(set(names)) != len(names):
        raise UnreadableForm("a form field is repeated")
    return fields


def _json_fields(body: bytes) -> list[Field]:
    # a JSON notification carries the same fields as the form; values must be strings, as in
    # the form (a number would have to be turned back into text, and "100" may not be 100)
    if not body.lstrip().startswith(b"{"):
        raise UnreadableForm("the JSON body is not an object")
    try:
        decoded = json.loads(body, object_pairs_hook=list)
    except (UnicodeDecodeError, ValueError):
        raise UnreadableForm("the body is not JSON") from None
    if not isinstance(decoded, list) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in decoded
    ):
        raise UnreadableForm("the JSON body is not an object of strings")
    return [(str(name), str(value)) for name, value in decoded]


async def _multipart(headers: Mapping[str, str], body: bytes) -> list[Field]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(Headers(headers=dict(headers)), stream(), max_files=0, max_fields=64)
    try:
        form = await parser.parse()
    except (MultiPartException, ValueError, KeyError):
        raise UnreadableForm("the body is not a readable multipart form") from None
    fields: list[Field] = []
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise UnreadableForm("a notification carries no files")
        fields.append((name, value))
    return fields
