"""Wave Checkout API's wire vocabulary: paths, fields, status words, error codes, events.

Shared by the client, the provider and the simulator so that they cannot drift apart.
Confidence marks follow ``docs/providers/wave.md``: DOC (Wave's published docs), C2 (seen in
two or more independent clients), C1 (one client), INF (inferred), ? (unknown).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

#: The API host (DOC). Wave has no sandbox host: every call with a real key is real money.
DEFAULT_API_URL: Final = "https://api.wave.com"
#: Session endpoints (paths DOC; status codes and shapes C2).
SESSIONS_PATH: Final = "/v1/checkout/sessions"
SEARCH_PATH: Final = "/v1/checkout/sessions/search"


def session_path(session_id: str, action: str = "") -> str:
    """``/v1/checkout/sessions/<id>`` or ``.../<id>/<action>`` (``expire``, ``refund``)."""
    tail = f"/{action}" if action else ""
    return f"{SESSIONS_PATH}/{session_id}{tail}"


#: ``client_reference`` may be at most this long (C2); ours is the 22-character attempt id.
MAX_CLIENT_REFERENCE: Final = 255
#: A session's lifetime when Wave does not say otherwise (C2; not settable; open question 6).
SESSION_LIFETIME: Final = timedelta(minutes=30)

#: ``checkout_status`` words (C2).
OPEN: Final = "open"
COMPLETE: Final = "complete"
EXPIRED: Final = "expired"
#: ``payment_status`` words (C2).
PROCESSING: Final = "processing"
CANCELLED: Final = "cancelled"
SUCCEEDED: Final = "succeeded"

#: ``last_payment_error.code`` values (C2): a failed try leaves the session open (INF).
PAYMENT_ERROR_CODES: Final = frozenset(
    {
        "blocked-account",
        "cross-border-payment-not-allowed",
        "customer-age-restricted",
        "insufficient-funds",
        "kyb-limits-exceeded",
        "payer-mobile-mismatch",
        "payment-failure",
    }
)

#: Error codes of the ``{code, message, details}`` error body.
AUTH_CODES: Final = frozenset(  # 401 (DOC)
    {
        "missing-auth-header",
        "invalid-auth",
        "api-key-not-provided",
        "no-matching-api-key",
        "api-key-revoked",
    }
)
WALLET_CODES: Final = frozenset({"invalid-wallet", "disabled-wallet", "unauthorized-wallet"})
VALIDATION_ERROR: Final = "request-validation-error"  # 400 (C2)
NOT_FOUND: Final = "checkout-session-not-found"  # 404 (C2)
REFUND_FAILED: Final = "checkout-refund-failed"  # 400 or 409 (C2; status ?)
SERVICE_UNAVAILABLE: Final = "service-unavailable"  # 503 (C2)
INTERNAL_ERROR: Final = "internal-server-error"  # 500 (C2)
#: Our name for a 409 on expire of a completed session: Wave's code for it was not seen (?).
EXPIRE_CONFLICT: Final = "checkout-session-not-open"

#: Webhook header of the signing-secret strategy (C2).
SIGNATURE_HEADER: Final = "wave-signature"
#: Event types (C1 list; DOC names the kinds). Only the checkout ones concern a payment.
SESSION_COMPLETED: Final = "checkout.session.completed"
SESSION_PAYMENT_FAILED: Final = "checkout.session.payment_failed"
CHECKOUT_EVENTS: Final = frozenset({SESSION_COMPLETED, SESSION_PAYMENT_FAILED})
TEST_EVENT: Final = "test.test_event"
