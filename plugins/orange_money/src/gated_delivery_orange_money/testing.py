"""Test helpers (install the ``testing`` extra): the simulator served on a loopback port,
a deliverer that hands its notifications to the test, and the ``SimulatorControl`` the
core's ``ProviderContract`` drives.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlsplit

import httpx

from gated_delivery.api import AttemptView, Money, ReportedStatus
from gated_delivery_orange_money import protocol
from gated_delivery_orange_money.errors import PROVIDER_NAME
from gated_delivery_orange_money.provider import NOTIF_TOKEN, OM_ORDER_ID
from gated_delivery_orange_money.simulator import Notice, OrangeMoneySimulator

#: A notification as it travels: body, headers, query parameters (the contract's ``Wire``).
Wire = tuple[bytes, dict[str, str], dict[str, str]]

#: Our outcomes in the simulator's words; Orange Money has no "cancelled" status.
OUTCOME_WORDS: Final = {
    ReportedStatus.SUCCEEDED: protocol.SUCCESS,
    ReportedStatus.FAILED: protocol.FAILED,
    ReportedStatus.EXPIRED: protocol.EXPIRED,
}
START_TIMEOUT_SECONDS: Final = 10.0


class CollectingDeliverer:
    """Keeps the simulator's notifications for the test to post to the app under test.

    Tests run the app in-process, where the simulator's server thread cannot reach it; the
    simulator still decides what is sent (duplicates, nothing), the test carries it.
    """

    def __init__(self) -> None:
        self._notices: list[Notice] = []
        self._lock = threading.Lock()

    async def __call__(self, notice: Notice) -> None:
        """Keep one notification."""
        with self._lock:
            self._notices.append(notice)

    def pending(self) -> int:
        """How many notifications are waiting to be taken."""
        with self._lock:
            return len(self._notices)

    def take(self) -> list[Notice]:
        """Every notification kept since the last call, oldest first."""
        with self._lock:
            notices, self._notices = self._notices, []
        return notices


def wire(notice: Notice) -> Wire:
    """A notification as ``(body, headers, query)``, the query taken from its URL."""
    query = dict(parse_qsl(urlsplit(notice.url).query))
    return notice.body, dict(notice.headers), query


class LoopbackServer:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port, in a background thread.

    The port is chosen when the object is made, before the app is, so an app can be built
    knowing its own address (``GD_BASE_URL``). ``serve(app)`` starts it; leaving the
    ``with`` block stops it.
    """

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def serve(self, app: Any, *, lifespan: Literal["on", "off"] = "off") -> None:
        """Start serving ``app``; returns once uvicorn accepts connections (bounded wait)."""
        import uvicorn  # a test dependency only

        config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
        self._server = server = uvicorn.Server(config)
        self._thread = thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.01)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=START_TIMEOUT_SECONDS)
        self._socket.close()


class ServedSimulator(LoopbackServer):
    """The simulator alone, served on a loopback port; ``base_url`` is its ``OM_API_URL``."""

    def __init__(self, simulator: OrangeMoneySimulator) -> None:
        super().__init__()
        self.simulator = simulator

    @property
    def base_url(self) -> str:
        """The simulator's API root (prefix included), to use as ``OM_API_URL``."""
        return f"{self.url}{self.simulator.prefix}"

    def __enter__(self) -> ServedSimulator:
        self.serve(self.simulator.app())
        return self


@dataclass
class OrangeMoneyControl:
    """``SimulatorControl`` for the Orange Money simulator, over its control endpoint."""

    served: ServedSimulator
    provider_name: str = PROVIDER_NAME
    outcomes: frozenset[ReportedStatus] = field(default_factory=lambda: frozenset(OUTCOME_WORDS))
    #: Orange's status answer carries no amount: the contract skips its amount-mismatch test
    reports_amount: bool = False

    @property
    def simulator(self) -> OrangeMoneySimulator:
        """The simulator being served."""
        return self.served.simulator

    def om_order_id(self, attempt: AttemptView) -> str:
        """Orange's ``order_id`` for an attempt."""
        return str(attempt.provider_data.get(OM_ORDER_ID, attempt.attempt_id))

    async def control(self, path: str = "", **fields: str) -> httpx.Response:
        """POST to the control endpoint (``/control`` + ``path``) with form ``fields``."""
        async with httpx.AsyncClient(base_url=self.served.base_url, timeout=10) as client:
            response = await client.post(f"/control{path}", data=fields)
        response.raise_for_status()
        return response

    async def counters(self) -> dict[str, int]:
        """The simulator's counters (token requests, API calls, notifications)."""
        async with httpx.AsyncClient(base_url=self.served.base_url, timeout=10) as client:
            response = await client.get("/control")
        response.raise_for_status()
        data: dict[str, int] = response.json()
        return data

    async def settle(
        self, attempt: AttemptView, outcome: ReportedStatus, amount: Money | None = None
    ) -> None:
        """Settle the session through the control endpoint, without notifying.

        ``amount`` must be the one asked (or None): Orange's payment page charges the
        session's amount and its status answer carries none (``reports_amount``).
        """
        if amount is not None and amount != attempt.amount:
            raise ValueError("Orange Money cannot report another amount than the one asked")
        await self.control(
            f"/{self.om_order_id(attempt)}", outcome=OUTCOME_WORDS[outcome], notify="0"
        )

    async def notification(self, attempt: AttemptView) -> Wire:
        """The notification the simulator would send now about this session.

        Orange sends none before a result or for EXPIRED; the contract still posts one to
        trigger the check, and it carries the session's authentic ``notif_token``.
        """
        return wire(self.simulator.notice(self.om_order_id(attempt)))

    def forge(self, wire: Wire) -> Wire:
        """The same notification with another ``notif_token`` of the same length."""
        body, headers, query = wire
        token = str(json.loads(body)[NOTIF_TOKEN])
        forged = "0" * len(token) if token != "0" * len(token) else "1" * len(token)
        return body.replace(token.encode(), forged.encode()), headers, query

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """While inside, ``transactionstatus`` answers 503."""
        with httpx.Client(base_url=self.served.base_url, timeout=10) as client:
            client.post("/control", data={"status_down": "1"}).raise_for_status()
            try:
                yield
            finally:
                client.post("/control", data={"status_down": "0"}).raise_for_status()


__all__ = [
    "CollectingDeliverer",
    "LoopbackServer",
    "OrangeMoneyControl",
    "ServedSimulator",
    "Wire",
    "wire",
]
