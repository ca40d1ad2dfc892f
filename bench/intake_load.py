"""Load generator of the webhook intake benchmark, run in a process of its own.

``--concurrency`` workers share one httpx connection pool and POST distinct, authentic fake
provider notifications (each with its own ``event_id``) for ``--warmup`` seconds, not
recorded, then for ``--duration`` seconds, recorded. The result is one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from intake_apps import HOST, SECRET_ENV

from gated_delivery.testing import FakeProvider

REQUEST_TIMEOUT_SECONDS: Final = 10.0


@dataclass
class Phase:
    """What one phase (warm-up or measurement) saw."""

    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> int:
        """Requests answered 200."""
        return self.statuses["200"]


@dataclass
class Notifier:
    """Makes a new authentic notification on each call."""

    provider: FakeProvider
    attempt_id: str
    tag: str
    sent: int = 0

    def next(self, worker: int) -> tuple[bytes, dict[str, str]]:
        """Body and headers of a notification no earlier call produced."""
        self.sent += 1
        event_id = f"{self.tag}-{worker}-{self.sent}"
        return self.provider.notification(self.attempt_id, status="pending", event_id=event_id)


def percentile_ms(sorted_s: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted latencies, in milliseconds (0 if none)."""
    if not sorted_s:
        return 0.0
    rank = max(0, min(len(sorted_s) - 1, round(fraction * len(sorted_s)) - 1))
    return sorted_s[rank] * 1000


async def post_once(
    client: httpx.AsyncClient, path: str, notifier: Notifier, worker: int, phase: Phase
) -> None:
    """Send one notification; record its outcome, and its latency if it was answered."""
    body, headers = notifier.next(worker)
    started = time.perf_counter()
    try:
        response = await client.post(path, content=body, headers=headers)
    except httpx.HTTPError as exc:
        phase.statuses[type(exc).__name__] += 1
        return
    phase.latencies_s.append(time.perf_counter() - started)
    phase.statuses[str(response.status_code)] += 1


async def run_phase(
    client: httpx.AsyncClient, path: str, notifier: Notifier, seconds: float, concurrency: int
) -> Phase:
    """Keep ``concurrency`` requests in flight for ``seconds``; the last ones finish after."""
    phase = Phase()
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(number: int) -> None:
        while time.perf_counter() < deadline:
            await post_once(client, path, notifier, number, phase)

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    phase.elapsed_s = time.perf_counter() - started
    return phase


def summary(warmup: Phase, measured: Phase) -> dict[str, Any]:
    """The JSON the orchestrator reads."""
    latencies = sorted(measured.latencies_s)
    return {
        "warmup_ok": warmup.ok,
        "warmup_statuses": dict(warmup.statuses),
        "ok": measured.ok,
        "statuses": dict(measured.statuses),
        "elapsed_s": measured.elapsed_s,
        "rps": measured.ok / measured.elapsed_s if measured.elapsed_s else 0.0,
        "p50_ms": percentile_ms(latencies, 0.50),
        "p99_ms": percentile_ms(latencies, 0.99),
    }


async def run(args: argparse.Namespace, secret: bytes) -> dict[str, Any]:
    """Warm up, measure, and summarise."""
    notifier = Notifier(FakeProvider(secret=secret), args.attempt_id, args.tag)
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(
        base_url=args.base_url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS
    ) as client:
        warmup = await run_phase(client, args.path, notifier, args.warmup, args.concurrency)
        measured = await run_phase(client, args.path, notifier, args.duration, args.concurrency)
    return summary(warmup, measured)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of the load generator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="http://127.0.0.1:<port>")
    parser.add_argument("--path", required=True, help="the route to POST to")
    parser.add_argument("--attempt-id", required=True, help="the attempt the notices name")
    parser.add_argument("--tag", required=True, help="prefix making event ids unique")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the load and print its summary as JSON."""
    args = parse_args(argv)
    if not args.base_url.startswith(f"http://{HOST}:"):
        raise SystemExit(f"the load generator only talks to {HOST}")
    secret = bytes.fromhex(os.environ[SECRET_ENV])
    print(json.dumps(asyncio.run(run(args, secret))))


if __name__ == "__main__":
    main()
