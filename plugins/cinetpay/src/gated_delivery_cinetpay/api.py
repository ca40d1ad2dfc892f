"""The two Checkout API v2 calls, over httpx: open a payment, and check one.

Only the check is retried (on connection errors, timeouts and 5xx): it reads, so asking twice
is harmless. The initialisation is never retried: a request that timed out may have created
the transaction, and a second one with the same ``transaction_id`` is refused anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from gated_delivery_cinetpay import httpclient
from gated_delivery_cinetpay.errors import CinetPayUnavailable, PaymentRefused
from gated_delivery_cinetpay.settings import CinetPayConfig

CREATED_CODE: Final = "201"
DEFAULT_TIMEOUT: Final[httpx.Timeout] = httpx.Timeout(20.0, connect=5.0)
#: Pauses between the tries of one check; the job queue's backoff takes over after the last.
DEFAULT_CHECK_RETRY_DELAYS: Final[tuple[float, ...]] = (0.5, 2.0)


@dataclass(frozen=True)
class Opened:
    """A transaction CinetPay created: where to send the buyer, and its token."""

    payment_url: str
    payment_token: str
    api_response_id: str


@dataclass
class CheckoutApi:
    """A thin client of ``/v2/payment`` and ``/v2/payment/check``."""

    config: CinetPayConfig
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    check_retry_delays: Sequence[float] = DEFAULT_CHECK_RETRY_DELAYS
    #: tests may pass ``httpx.MockTransport`` for broken answers; None is the network
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)

    def _client(self) -> httpx.AsyncClient:
        return httpclient.client(self.config.api_url, self.timeout, self.transport)

    def _credentials(self) -> dict[str, str]:
        return {
            "apikey": self.config.api_key.get_secret_value(),
            "site_id": self.config.site_id,
        }

    async def open_payment(self, fields: Mapping[str, Any]) -> Opened:
        """``POST /v2/payment`` once; ``PaymentRefused`` with CinetPay's code on refusal."""
        body = {**self._credentials(), **fields}
        try:
            async with self._client() as client:
                response = await client.post("/v2/payment", json=body)
        except httpx.TransportError as exc:
            raise CinetPayUnavailable(
                type(exc).__name__, "no answer to the payment initialisation"
            ) from None
        envelope = httpclient.decoded(response)
        if envelope is None:
            if response.status_code >= 500:
                raise CinetPayUnavailable(str(response.status_code), "server error")
            raise PaymentRefused(f"http-{response.status_code}", "the answer is not JSON")
        # the body's code decides, not the HTTP status: errors come with 200 or 4xx alike
        code = str(envelope.get("code", "")).strip()
        data = envelope.get("data")
        if code == CREATED_CODE and isinstance(data, Mapping):
            url, token = data.get("payment_url"), data.get("payment_token")
            if isinstance(url, str) and url.startswith(("https://", "http://")) and token:
                return Opened(url, str(token), str(envelope.get("api_response_id", "")))
        if response.status_code >= 500:
            raise CinetPayUnavailable(str(response.status_code), "server error")
        words = " ".join(
            str(envelope.get(key, "")) for key in ("message", "description") if envelope.get(key)
        )
        raise PaymentRefused(code or f"http-{response.status_code}", words[:200] or "refused")

    async def check(self, transaction_id: str) -> Mapping[str, Any]:
        """``POST /v2/payment/check``, retried on no answer and 5xx; the decoded envelope.

        Raises ``CinetPayUnavailable`` once the tries are spent, or for an answer that is not
        JSON (a proxy's error page, say): both mean "ask again later".
        """
        body = {**self._credentials(), "transaction_id": transaction_id}
        async with self._client() as client:
            return await httpclient.read_retried(
                lambda: client.post("/v2/payment/check", json=body),
                self.check_retry_delays,
                "status check",
            )
