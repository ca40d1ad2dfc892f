"""The ``Wave-Signature`` header of Wave's webhooks: ``t=<unix seconds>,v1=<hex>[,v1=<hex>]``.

The signed string is the ``t`` value immediately followed by the raw body, with no separator
(C2: two clients following Wave's sample, two test suites; a community simulator's ``t.body``
with a dot is a deviation). The MAC is HMAC-SHA256 keyed with the webhook secret
(``wave_sn_WHS_...``), not the API key. The header may carry several ``v1`` values (during a
secret rotation, INF): one match is enough. A timestamp further than ``tolerance`` from now,
in either direction, is refused: that is what stops a captured webhook being replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

#: How far ``t`` may be from our clock (INF: the usual figure; Wave publishes none).
DEFAULT_TOLERANCE_SECONDS: Final = 300
#: A header longer than this is not Wave's (a guard against absurd inputs).
MAX_HEADER_LENGTH: Final = 2048
_HEX: Final = frozenset("0123456789abcdef")


class SignatureInvalid(ValueError):
    """The header is missing, malformed, stale, or no ``v1`` matches; the message says which
    and never carries the secret or the expected MAC."""


@dataclass(frozen=True)
class SignatureHeader:
    """A parsed ``Wave-Signature`` header."""

    timestamp: int
    signatures: tuple[str, ...]


def mac(secret: bytes, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp`` immediately followed by ``body``."""
    return hmac.new(secret, timestamp.encode("ascii") + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """A ``Wave-Signature`` header value for ``body`` sent at ``timestamp`` (the simulator's)."""
    return f"t={timestamp},v1={mac(secret, str(timestamp), body)}"


def parse(header: str) -> SignatureHeader:
    """Split the header on ``,`` into its ``t`` and every ``v1``; unknown parts are ignored."""
    if not header:
        raise SignatureInvalid("the webhook has no Wave-Signature header")
    if len(header) > MAX_HEADER_LENGTH:
        raise SignatureInvalid("the Wave-Signature header is too long")
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value.lower())
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise SignatureInvalid("the Wave-Signature header needs exactly one numeric t=")
    valid = tuple(s for s in signatures if len(s) == 64 and set(s) <= _HEX)
    if not valid:
        raise SignatureInvalid("the Wave-Signature header has no v1= HMAC-SHA256 signature")
    return SignatureHeader(int(timestamps[0]), valid)


def verify(
    secret: bytes,
    header: str,
    body: bytes,
    *,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check the header against the raw ``body``; return its timestamp.

    Raises ``SignatureInvalid``. The comparison is constant-time, and every ``v1`` is
    compared (no early exit that would tell which one matched).
    """
    parsed = parse(header)
    if abs(now - parsed.timestamp) > tolerance_seconds:
        raise SignatureInvalid(
            f"the Wave-Signature timestamp is more than {tolerance_seconds} s from our clock "
            "(a stale or replayed webhook, or a clock to fix)"
        )
    expected = mac(secret, str(parsed.timestamp), body).encode("ascii")
    matched = False
    for candidate in parsed.signatures:
        matched |= hmac.compare_digest(expected, candidate.encode("ascii"))
    if not matched:
        raise SignatureInvalid("no Wave-Signature v1 matches the body and the webhook secret")
    return parsed.timestamp
