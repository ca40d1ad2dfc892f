"""Orange Money Web Payment's wire vocabulary: paths, field limits, status words.

Shared by the client and the simulator so that the two cannot drift apart. Confidence marks
follow the protocol notes in ``docs/providers/orange_money.md``.
"""

from __future__ import annotations

from typing import Final

#: The public API host (production and the ``dev`` sandbox share it).
DEFAULT_API_URL: Final = "https://api.orange.com"
#: Client-credentials token endpoint; older code uses ``/oauth/v2/token``, Orange says v3.
TOKEN_PATH: Final = "/oauth/v3/token"  # noqa: S105 - a URL path, not a secret
#: The country segment of the sandbox (``dev``); production uses the lower-case country code.
SANDBOX_COUNTRY: Final = "dev"
#: The test currency of the ``dev`` sandbox (not an ISO 4217 code).
SANDBOX_CURRENCY: Final = "OUV"


def webpay_path(country: str, call: str) -> str:
    """The path of a WebPay call (``webpayment`` or ``transactionstatus``).

    ``country`` is ``dev`` in the sandbox and ``ci``, ``sn``, ``ml``... in production. An
    empty ``country`` drops the segment: one public implementation calls ``/v1/...`` without
    one for Cote d'Ivoire, and which is right there is an open question.
    """
    segment = f"/{country}" if country else ""
    return f"/orange-money-webpay{segment}/v1/{call}"


#: Documented length limits of the init request's fields (characters).
MAX_ORDER_ID: Final = 30
MAX_REFERENCE: Final = 30
MAX_URL: Final = 120

#: Status words of ``transactionstatus`` (Orange's "Getting started" guide).
INITIATED: Final = "INITIATED"  # waiting for the buyer; stays so if they never pay
PENDING: Final = "PENDING"  # buyer confirmed; Orange is processing
SUCCESS: Final = "SUCCESS"
FAILED: Final = "FAILED"
EXPIRED: Final = "EXPIRED"  # buyer confirmed after the session's validity
STATUS_WORDS: Final = frozenset({INITIATED, PENDING, SUCCESS, FAILED, EXPIRED})

#: Gateway error codes (Orange's common API gateway).
CODE_MISSING_CREDENTIALS: Final = 40
CODE_INVALID_CREDENTIALS: Final = 41
CODE_EXPIRED_CREDENTIALS: Final = 42
CODE_ACCESS_DENIED: Final = 50
CODE_TOO_MANY_REQUESTS: Final = 53
CODE_NOT_FOUND: Final = 60
