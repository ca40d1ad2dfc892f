"""Load generator of the webhook intake benchmark, run in a process of its own.

For each ``--target``, ``--concurrency`` workers POST distinct, authentic fake provider
notifications (each with its own ``event_id``): first ``--warmup`` seconds per target, not
recorded, then ``--duration`` seconds per target, recorded, split into ``--rounds`` slices
that alternate between the targets so that a change in the machine's load during the run
hits both alike. Only one target is loaded at a time. The result is one JSON object per
target on stdout.

``--client raw`` (the default) keeps one HTTP/1.1 keep-alive connection per worker over
asyncio streams; ``--client httpx`` shares one ``httpx.AsyncClient`` pool between workers.
httpx spends several milliseconds of CPU per request under concurrency, so on a small
machine it saturates before the servers do and the ratio drifts towards 1; the raw client
costs about a tenth of a millisecond and leaves the CPU to the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import httpx

from _webhook_intake.common import HOST, SECRET_ENV

# the module itself, not gated_delivery.testing: this process starts faster without the rest
from gated_delivery.sandbox.fake_provider import FakeProvider

REQUEST_TIMEOUT_SECONDS: Final = 10.0
#: The largest response head the raw client accepts (the servers send a few lines).
MAX_HEAD_BYTES: Final = 16 * 1024


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 the raw client can read."""


#: What counts as a failed request rather than an answer.
CLIENT_ERRORS: Final = (
    httpx.HTTPError,
    OSError,
    EOFError,  # asyncio.IncompleteReadError: the server closed mid-answer
    asyncio.LimitOverrunError,
    ProtocolError,
)


class Poster(Protocol):
    """Sends one POST and returns the status code."""

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST ``body`` to ``path``; the answer's status code."""
        ...


@dataclass
class HttpxPoster:
    """Posts through a shared ``httpx.AsyncClient`` (its connection pool)."""

    client: httpx.AsyncClient

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST through the pool; the status code."""
        response = await self.client.post(path, content=body, headers=dict(headers))
        return response.status_code


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server closes, from a response head."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length", "")
    if not length.isdigit():
        raise ProtocolError("the raw client needs a Content-Length")
    return int(parts[1]), int(length), headers.get("connection", "").lower() == "close"


@dataclass
class RawPoster:
    """HTTP/1.1 with keep-alive over one asyncio connection, reopened after an error."""

    host: str
    port: int
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST on the kept-alive connection; the status code."""
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                status, closes = await self._exchange(self._request(path, body, headers))
        except BaseException:
            await self.close()
            raise
        if closes:
            await self.close()
        return status

    def _request(self, path: str, body: bytes, headers: Mapping[str, str]) -> bytes:
        lines = [f"POST {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"content-length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def _exchange(self, request: bytes) -> tuple[int, bool]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, limit=MAX_HEAD_BYTES
            )
        self.writer.write(request)
        await self.writer.drain()
        status, length, closes = parse_head(await self.reader.readuntil(b"\r\n\r\n"))
        await self.reader.readexactly(length)
        return status, closes

    async def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def posters(client: str, base_url: str, concurrency: int) -> AsyncIterator[list[Poster]]:
    """One poster per worker, closed on exit."""
    if client == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS
        ) as shared:
            yield [HttpxPoster(shared)] * concurrency
        return
    address = urlsplit(base_url)
    raw = [RawPoster(address.hostname or HOST, address.port or 80) for _ in range(concurrency)]
    try:
        yield list(raw)
    finally:
        for poster in raw:
            await poster.close()


@dataclass
class Phase:
    """What the requests to one target saw, over one or more slices of time."""

    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def ok(self) -> int:
        """Requests answered 200."""
        return self.statuses["200"]

    @property
    def sent(self) -> int:
        """Requests sent, whatever became of them."""
        return sum(self.statuses.values())


@dataclass(frozen=True)
class Target:
    """A server to load: its name in the output, its address and the route to POST to."""

    name: str
    base_url: str
    path: str


@dataclass
class Notifier:
    """Makes a new authentic notification on each call."""

    provider: FakeProvider
    attempt_id: str
    tag: str
    sent: int = 0

    def next(self) -> tuple[bytes, dict[str, str]]:
        """Body and headers of a notification no earlier call produced."""
        self.sent += 1
        event_id = f"{self.tag}-{self.sent}"
        return self.provider.notification(self.attempt_id, status="pending", event_id=event_id)


def percentile_ms(sorted_s: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted latencies, in milliseconds (0 if none)."""
    if not sorted_s:
        return 0.0
    rank = max(0, min(len(sorted_s) - 1, round(fraction * len(sorted_s)) - 1))
    return sorted_s[rank] * 1000


async def post_once(poster: Poster, path: str, notifier: Notifier, phase: Phase) -> None:
    """Send one notification; record its outcome, and its latency if it was answered."""
    body, headers = notifier.next()
    started = time.perf_counter()
    try:
        status = await poster.post(path, body, headers)
    except CLIENT_ERRORS as exc:
        phase.statuses[type(exc).__name__] += 1
        return
    phase.latencies_s.append(time.perf_counter() - started)
    phase.statuses[str(status)] += 1


async def run_slice(
    workers: Sequence[Poster], path: str, notifier: Notifier, seconds: float, phase: Phase
) -> None:
    """Keep one request per worker in flight for ``seconds``, adding to ``phase``.

    Workers stop starting requests at the deadline; the time counted runs until the last
    one is answered.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    deadline = started + seconds

    async def work(poster: Poster) -> None:
        while time.perf_counter() < deadline:
            await post_once(poster, path, notifier, phase)

    await asyncio.gather(*(work(poster) for poster in workers))
    phase.elapsed_s += time.perf_counter() - started
    phase.cpu_s += time.process_time() - cpu_started


def summary(warmup: Phase, measured: Phase) -> dict[str, Any]:
    """What the orchestrator reads about one target."""
    latencies = sorted(measured.latencies_s)
    sent = warmup.sent + measured.sent
    return {
        "warmup_ok": warmup.ok,
        "warmup_statuses": dict(warmup.statuses),
        "sent": sent,
        "ok": measured.ok,
        "statuses": dict(measured.statuses),
        "elapsed_s": measured.elapsed_s,
        "rps": measured.ok / measured.elapsed_s if measured.elapsed_s else 0.0,
        "p50_ms": percentile_ms(latencies, 0.50),
        "p99_ms": percentile_ms(latencies, 0.99),
        # what the client itself costs: it shares the machine with the servers
        "client_cpu_ms": (warmup.cpu_s + measured.cpu_s) * 1000 / sent if sent else 0.0,
    }


async def run(args: argparse.Namespace, secret: bytes) -> dict[str, Any]:
    """Warm each target up, measure them in alternating slices, and summarise."""
    targets = [Target(*values) for values in args.target]
    notifier = Notifier(FakeProvider(secret=secret), args.attempt_id, args.tag)
    warmup = {t.name: Phase() for t in targets}
    measured = {t.name: Phase() for t in targets}
    async with contextlib.AsyncExitStack() as stack:
        workers = {
            t.name: await stack.enter_async_context(
                posters(args.client, t.base_url, args.concurrency)
            )
            for t in targets
        }
        for t in targets:
            await run_slice(workers[t.name], t.path, notifier, args.warmup, warmup[t.name])
        slice_s = args.duration / args.rounds
        for _ in range(args.rounds):
            for t in targets:
                await run_slice(workers[t.name], t.path, notifier, slice_s, measured[t.name])
    return {t.name: summary(warmup[t.name], measured[t.name]) for t in targets}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of the load generator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--target",
        nargs=3,
        action="append",
        required=True,
        metavar=("NAME", "BASE_URL", "PATH"),
        help=f"a server to load: a name, http://{HOST}:<port> and the route to POST to",
    )
    parser.add_argument("--attempt-id", required=True, help="the attempt the notices name")
    parser.add_argument("--tag", required=True, help="prefix making event ids unique")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per target")
    parser.add_argument("--rounds", type=int, default=5, help="slices the duration is cut in")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the load and print its summary as JSON."""
    args = parse_args(argv)
    for _name, base_url, _path in args.target:
        if not base_url.startswith(f"http://{HOST}:"):
            raise SystemExit(f"the load generator only talks to {HOST}, not {base_url}")
    secret = bytes.fromhex(os.environ[SECRET_ENV])
    print(json.dumps(asyncio.run(run(args, secret))))


if __name__ == "__main__":
    main()
