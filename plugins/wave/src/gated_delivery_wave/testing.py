"""Test helpers (install the ``testing`` extra): the simulator served on a loopback port, a
deliverer that hands its webhooks to the test, and the ``SimulatorControl`` the core's
``ProviderContract`` drives.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Literal

import httpx

from gated_delivery.api import AttemptView, Money, ReportedStatus
from gated_delivery_wave import protocol
from gated_delivery_wave.errors import PROVIDER_NAME
from gated_delivery_wave.provider import SESSION_ID
from gated_delivery_wave.simulator import Notice, WaveSimulator

#: A webhook as it travels: body, headers, query parameters (the contract's ``Wire``).
Wire = tuple[bytes, dict[str, str], dict[str, str]]

#: Our outcomes in the simulator's words. A failed try leaves Wave's session open, and an
#: abandoned one expires: Wave has no final "failed" or "cancelled" of its own.
OUTCOME_WORDS: Final = {
    ReportedStatus.SUCCEEDED: protocol.SUCCEEDED,
    ReportedStatus.EXPIRED: protocol.EXPIRED,
}
START_TIMEOUT_SECONDS: Final = 10.0


class CollectingDeliverer:
    """Keeps the simulator's webhooks for the test to post to the app under test (which
    runs in-process, out of reach of the simulator's server thread)."""

    def __init__(self) -> None:
        self._notices: list[Notice] = []
        self._lock = threading.Lock()

    async def __call__(self, notice: Notice) -> None:
        """Keep one webhook."""
        with self._lock:
            self._notices.append(notice)

    def pending(self) -> int:
        """How many webhooks are waiting to be taken."""
        with self._lock:
            return len(self._notices)

    def take(self) -> list[Notice]:
        """Every webhook kept since the last call, oldest first."""
        with self._lock:
            notices, self._notices = self._notices, []
        return notices


def wire(notice: Notice) -> Wire:
    """A webhook as ``(body, headers, query)``; Wave's registered URL has no query."""
    return notice.body, dict(notice.headers), {}


class LoopbackServer:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port, in a background thread.

    The port is bound when the object is made, so an app can know its own address
    (``GD_BASE_URL``) before it is built; ``serve(app)`` starts it, leaving ``with`` stops it.
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
        """Start serving ``app``; returns once uvicorn listens (a bounded wait)."""
        import uvicorn  # a test dependency only

        config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
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
    """The simulator alone on a loopback port; ``base_url`` is its ``WAVE_API_URL``."""

    def __init__(self, simulator: WaveSimulator) -> None:
        super().__init__()
        self.simulator = simulator

    @property
    def base_url(self) -> str:
        """The simulator's API root (prefix included)."""
        return f"{self.url}{self.simulator.prefix}"

    def __enter__(self) -> ServedSimulator:
        self.serve(self.simulator.app())
        return self


@dataclass
class WaveControl:
    """``SimulatorControl`` for the Wave simulator, over its control endpoints."""

    served: ServedSimulator
    provider_name: str = PROVIDER_NAME
    outcomes: frozenset[ReportedStatus] = field(default_factory=lambda: frozenset(OUTCOME_WORDS))

    @property
    def simulator(self) -> WaveSimulator:
        """The simulator being served."""
        return self.served.simulator

    @staticmethod
    def session_id(attempt: AttemptView) -> str:
        """Wave's session id, as the provider stored it on the attempt."""
        return str(attempt.provider_data[SESSION_ID])

    def control(self, path: str = "", **fields: str) -> dict[str, Any]:
        """POST to ``/control`` + ``path`` with form ``fields``; the JSON answer."""
        with httpx.Client(base_url=self.served.base_url, timeout=10) as client:
            response = client.post(f"/control{path}", data=fields)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def settle(
        self, attempt: AttemptView, outcome: ReportedStatus, amount: Money | None = None
    ) -> None:
        """Settle the session through the control endpoint, without a webhook."""
        fields = {"outcome": OUTCOME_WORDS[outcome], "notify": "0"}
        if amount is not None:
            fields["amount"] = amount.major_str()
        self.control(f"/{self.session_id(attempt)}", **fields)

    async def notification(self, attempt: AttemptView) -> Wire:
        """The signed webhook Wave would send now about this session."""
        return wire(self.simulator.notice(self.session_id(attempt)))

    def forge(self, wire: Wire) -> Wire:
        """The body changed after signing: the signature no longer matches."""
        body, headers, query = wire
        return body.replace(b'"type":', b'"forged":true,"type":', 1), headers, query

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """While inside, GET of a session answers 500."""
        self.control(get_down="1")
        try:
            yield
        finally:
            self.control(get_down="0")


__all__ = [
    "CollectingDeliverer",
    "LoopbackServer",
    "ServedSimulator",
    "WaveControl",
    "Wire",
    "wire",
]
