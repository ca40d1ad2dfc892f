"""Fixtures of the CinetPay tests: the simulators served over loopback, the provider wired to them.

The simulator runs in uvicorn on a free 127.0.0.1 port, in a background thread, once per
session; transaction ids are random per attempt, so tests never see each other's payments.
The provider talks to it with the real httpx client, exactly as it would talk to CinetPay.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from gated_delivery_cinetpay import CinetPay, CinetPayConfig, CinetPayV1Config
from gated_delivery_cinetpay.simulator import CinetPaySimulator
from gated_delivery_cinetpay.v1.simulator import CinetPayV1Simulator
from pydantic import SecretStr

from gated_delivery.models import Asset, AssetKind, Product
from gated_delivery.money import Money
from gated_delivery.plugin_types import AttemptView, ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.testing import ProviderPlugin, serve

API_KEY = "test-apikey-12912847765bc0db748fdd44"
SITE_ID = "445160"
SECRET_KEY = "test-secret-key-0123456789abcdef"
#: Wire form of a notification: body, headers, query (the contract's ``Wire``).
Wire = tuple[bytes, dict[str, str], dict[str, str]]
#: Our outcomes as the simulator's control endpoint spells them (CANCELLED is code 627).
CONTROL_FORMS: dict[ReportedStatus, dict[str, str]] = {
    ReportedStatus.SUCCEEDED: {"outcome": "ACCEPTED"},
    ReportedStatus.FAILED: {"outcome": "REFUSED", "code": "600"},
    ReportedStatus.CANCELLED: {"outcome": "REFUSED", "code": "627"},
}


@dataclass
class SimulatorServer:
    """The session's simulator and the URL the provider uses as ``CINETPAY_API_URL``."""

    simulator: CinetPaySimulator
    api_url: str
    #: one client for the whole session: the simulator runs in its own thread, so blocking
    #: calls from a test are answered without the test's event loop
    control_client: httpx.Client


@pytest.fixture(scope="session")
def cinetpay_server() -> Iterator[SimulatorServer]:
    """The CinetPay simulator, served by uvicorn on a free loopback port for the session."""
    simulator = CinetPaySimulator(api_key=API_KEY, site_id=SITE_ID, secret_key=SECRET_KEY)
    with serve(simulator.app()) as url, httpx.Client(timeout=10) as client:
        yield SimulatorServer(simulator, f"{url}/sandbox/cinetpay", client)


def make_config(api_url: str, **changes: Any) -> CinetPayConfig:
    """The test configuration (credentials the simulator accepts), with ``changes``."""
    values: dict[str, Any] = {
        "api_url": api_url,
        "api_key": SecretStr(API_KEY),
        "site_id": SITE_ID,
        "secret_key": SecretStr(SECRET_KEY),
        "session_minutes": 60,
    }
    return CinetPayConfig(**(values | changes))


@pytest.fixture
def cinetpay_provider(cinetpay_server: SimulatorServer) -> CinetPay:
    """The provider, pointed at the simulator; retries of the check are quick here."""
    return CinetPay(
        make_config(cinetpay_server.api_url),
        timeout=httpx.Timeout(5.0),
        check_retry_delays=(0.01, 0.01),
    )


@pytest.fixture
def gd_plugins(cinetpay_provider: CinetPay) -> list[object]:
    """Register the CinetPay provider (instead of the core's fake one)."""
    return [ProviderPlugin(cinetpay_provider)]


@pytest.fixture
def gd_price() -> Money:
    """A price CinetPay takes: whole XOF, a multiple of 5, at least 100."""
    return Money(2500, "XOF")


@dataclass
class CinetPayControl:
    """The contract's ``SimulatorControl``, speaking to the simulator's control endpoints."""

    api_url: str
    client: httpx.Client
    provider_name: str = "cinetpay"
    # CinetPay's check has no "expired" answer: abandoned payments expire by the reconciler
    outcomes: frozenset[ReportedStatus] = frozenset(CONTROL_FORMS)

    @staticmethod
    def transaction(attempt: AttemptView) -> str:
        """The CinetPay transaction id of an attempt, as the provider stored it."""
        return str(attempt.provider_data["transaction_id"])

    async def settle(
        self,
        attempt: AttemptView,
        outcome: ReportedStatus,
        amount: Money | None = None,
        **extra: str,
    ) -> dict[str, Any]:
        """Settle the payment on CinetPay's side, without notifying (the test posts).

        ``extra`` are more control fields (``check_lag``, ``duplicates``...).
        """
        form = {**CONTROL_FORMS[outcome], "notify": "0", **extra}
        if amount is not None:
            form["amount"] = amount.major_str()
        response = self.client.post(
            f"{self.api_url}/control/{self.transaction(attempt)}", data=form
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def notification(self, attempt: AttemptView) -> Wire:
        """The signed notification the simulator would post now."""
        response = self.client.get(f"{self.api_url}/control/{self.transaction(attempt)}")
        assert response.status_code == 200, response.text
        notice = response.json()["notification"]
        headers = {"content-type": notice["content_type"], "x-token": notice["x_token"]}
        return notice["body"].encode(), headers, {"order": attempt.order_id}

    def forge(self, wire: Wire) -> Wire:
        """Raise the notified amount after signing: the x-token no longer matches."""
        body, headers, query = wire
        fields = [
            (name, str(int(value) * 10) if name == "cpm_amount" else value)
            for name, value in parse_qsl(body.decode(), keep_blank_values=True)
        ]
        return urlencode(fields).encode(), headers, query

    def misbehave(self, **fields: str) -> dict[str, Any]:
        """``POST /control`` on the simulator (check_delay, check_errors, down, reset)."""
        response = self.client.post(f"{self.api_url}/control", data=fields)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """Every status check answers 503 while inside."""
        self.misbehave(down="1")
        try:
            yield
        finally:
            self.misbehave(down="0")


@pytest.fixture
def gd_provider_control(cinetpay_server: SimulatorServer) -> Iterator[CinetPayControl]:
    """Control of the session's simulator; its misbehaviour is reset after each test."""
    control = CinetPayControl(cinetpay_server.api_url, cinetpay_server.control_client)
    try:
        yield control
    finally:
        control.misbehave(reset="1")


# --- the current API (v1) ---------------------------------------------------------------

V1_API_KEY = "sk_test_" + "4f1c9a0e7b2d4c6e8a1b3c5d"
V1_API_PASSWORD = "test-api-password-0123456789"
V1_TOKEN_KEY = "test-notify-token-key-" + "z" * 32
V1_OUTCOMES: dict[ReportedStatus, str] = {
    ReportedStatus.SUCCEEDED: "SUCCESS",
    ReportedStatus.FAILED: "FAILED",
    ReportedStatus.EXPIRED: "EXPIRED",
}


@dataclass
class V1Server:
    """The session's v1 simulator and the URL the provider uses as ``CINETPAY_API_URL``."""

    simulator: CinetPayV1Simulator
    api_url: str
    control_client: httpx.Client


@pytest.fixture(scope="session")
def v1_server() -> Iterator[V1Server]:
    """The v1 simulator, served by uvicorn on a free loopback port for the session."""
    simulator = CinetPayV1Simulator(api_key=V1_API_KEY, api_password=V1_API_PASSWORD)
    with serve(simulator.app()) as url, httpx.Client(timeout=10) as client:
        yield V1Server(simulator, f"{url}/sandbox/cinetpay", client)


def make_v1_config(api_url: str, **changes: Any) -> CinetPayV1Config:
    """The test configuration (credentials the simulator accepts), with ``changes``."""
    values: dict[str, Any] = {
        "api_url": api_url,
        "api_key": SecretStr(V1_API_KEY),
        "api_password": SecretStr(V1_API_PASSWORD),
        "token_key": SecretStr(V1_TOKEN_KEY),
        "session_minutes": 60,
    }
    return CinetPayV1Config(**(values | changes))


@dataclass
class V1Control:
    """The contract's ``SimulatorControl``, speaking to the v1 simulator's control endpoints."""

    api_url: str
    client: httpx.Client
    provider_name: str = "cinetpay"
    # the current API has no "cancelled" status
    outcomes: frozenset[ReportedStatus] = frozenset(V1_OUTCOMES)
    # the status answer carries no amount: the plugin assumes the amount asked for
    reports_amount: bool = False

    @staticmethod
    def merchant_id(attempt: AttemptView) -> str:
        """Our merchant_transaction_id of an attempt, as the provider stored it."""
        return str(attempt.provider_data["merchant_transaction_id"])

    async def settle(
        self,
        attempt: AttemptView,
        outcome: ReportedStatus,
        amount: Money | None = None,
        **extra: str,
    ) -> dict[str, Any]:
        """Settle the payment on CinetPay's side, without notifying (the test posts)."""
        assert amount is None, "the current API's status answer carries no amount"
        # PENDING is no contract outcome, but the simulator has it
        form = {"outcome": V1_OUTCOMES.get(outcome, outcome.value.upper()), "notify": "0", **extra}
        response = self.client.post(
            f"{self.api_url}/control/{self.merchant_id(attempt)}", data=form
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def notification(self, attempt: AttemptView) -> Wire:
        """The notification the simulator would post now (JSON, with the notify_token)."""
        response = self.client.get(f"{self.api_url}/control/{self.merchant_id(attempt)}")
        assert response.status_code == 200, response.text
        body = response.json()["notification"].encode()
        return body, {"content-type": "application/json"}, {"order": attempt.order_id}

    def forge(self, wire: Wire) -> Wire:
        """Replace the notify_token by another of the same shape: it must be refused."""
        body, headers, query = wire
        fields = httpx.Response(200, content=body).json()
        fields["notify_token"] = secrets.token_urlsafe(32)
        return httpx.Response(200, json=fields).content, headers, query

    def misbehave(self, **fields: str) -> dict[str, Any]:
        """``POST /control`` (expire_tokens, token_lifetime, status_errors, down, reset)."""
        response = self.client.post(f"{self.api_url}/control", data=fields)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def counters(self) -> dict[str, int]:
        """The simulator's counters: ``logins`` and ``status_requests``."""
        return dict(self.client.get(f"{self.api_url}/control").json())

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """Every status request answers 503 while inside."""
        self.misbehave(down="1")
        try:
            yield
        finally:
            self.misbehave(down="0")


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
async def product_file(gd_runtime: Runtime, gd_product: Product) -> Asset:
    """The file delivered to buyers of the test product (so PAID publishes at once)."""
    stored = await gd_runtime.storage.save("products/guide", _one(b"%PDF-1.7 guide"))
    asset = Asset(
        product_id=gd_product.id,
        kind=AssetKind.PRODUCT_FILE,
        storage=gd_runtime.storage.name,
        key=stored.key,
        filename="guide.pdf",
        media_type="application/pdf",
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        created_at=gd_runtime.clock.now(),
    )
    async with gd_runtime.db.transaction() as session:
        session.add(asset)
    return asset
