"""Webhook intake throughput and latency on PostgreSQL, next to a bare Starlette endpoint.

Creates a throwaway database on the server named by ``GD_BENCH_DATABASE_URL`` (or else
``GD_TEST_DATABASE_URL``), seeds a pending payment attempt through the real code, then serves
the gated-delivery app and a bare one-insert Starlette app with uvicorn, each in its own
process, and loads each in turn from a third process with the same settings. Prints requests,
req/s, p50 and p99 for both, the throughput ratio (target: ours >= 0.5 of the bare one) and
checks that every 200 answer left its rows in the database::

    python bench/webhook_intake.py [--duration 10] [--warmup 2] [--concurrency 16]

Without a database URL it prints why and exits 0 ("skipped").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped]
import httpx
from intake_apps import BARE_TABLE, HOST, SECRET_ENV, bench_settings, plain_url

from gated_delivery.catalogue import upsert_product
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.payments import start_attempt
from gated_delivery.runtime import build_runtime
from gated_delivery.testing import FakeProvider, ProviderPlugin, databases

HERE: Final = Path(__file__).resolve().parent
APPS: Final = HERE / "intake_apps.py"
LOAD: Final = HERE / "intake_load.py"
URL_VARIABLES: Final = ("GD_BENCH_DATABASE_URL", "GD_TEST_DATABASE_URL")
TARGET_RATIO: Final = 0.5
START_TIMEOUT_SECONDS: Final = 30.0
STOP_TIMEOUT_SECONDS: Final = 10.0
#: Beyond the load's own duration: process start-up and the last requests in flight.
LOAD_GRACE_SECONDS: Final = 60.0


@dataclass(frozen=True)
class Target:
    """One server under test: its label, the process kind and the route to POST to."""

    label: str
    kind: str
    path: str


OURS: Final = Target("gated-delivery", "ours", "/payments/fake/notify")
BARE: Final = Target("bare starlette", "bare", "/intake")


# --- database -------------------------------------------------------------------------


async def seed(url: str, folder: Path, secret: bytes) -> str:
    """A product, an order and a PENDING fake attempt, made by the real code; the attempt id."""
    provider = FakeProvider(secret=secret)
    settings = bench_settings(url, folder, f"http://{HOST}")
    rt = build_runtime(settings, plugins_extra=[ProviderPlugin(provider)], load_entry_points=False)
    try:
        async with rt.db.transaction() as session:
            await upsert_product(
                session,
                slug="bench-guide",
                title="Benchmark guide",
                tier_id="std",
                tier_label="Standard",
                price=Money(5000, "XOF"),
            )
        async with rt.db.transaction() as session:
            order = await create_order(
                session,
                product_slug="bench-guide",
                tier_id="std",
                buyer_email="bench@example.org",
                buyer_name="Bench",
                now=rt.clock.now(),
            )
        started = await start_attempt(rt, order.id, provider.name)
    finally:
        await rt.close()
    return started.attempt_id


async def count_rows(url: str) -> dict[str, int]:
    """Rows in the intake tables of both servers (the bare one's may not exist yet)."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        counts: dict[str, int] = {}
        for table in ("gd_notification", "gd_job", BARE_TABLE):
            exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
            query = f"SELECT count(*) FROM {table}"  # noqa: S608 - names are constants
            counts[table] = await conn.fetchval(query) if exists else 0
        return counts
    finally:
        await conn.close()


# --- processes ------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_ready(process: subprocess.Popen[bytes], base_url: str) -> None:
    """Poll ``/healthz`` until it answers 200; raise if the process dies or never answers."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with httpx.Client(base_url=base_url, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server at {base_url} exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/healthz").status_code == 200:
                    return
            time.sleep(0.1)
    raise RuntimeError(f"server at {base_url} did not answer within {START_TIMEOUT_SECONDS} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down cleanly), then SIGKILL if it takes too long."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@contextlib.contextmanager
def serve(target: Target, url: str, folder: Path, env: Mapping[str, str]) -> Iterator[str]:
    """Run one server in a subprocess on a free loopback port; yield its base URL."""
    port = free_port()
    command = [
        sys.executable,
        str(APPS),
        target.kind,
        "--port",
        str(port),
        "--database-url",
        url,
        "--folder",
        str(folder),
    ]
    process = subprocess.Popen(command, env=dict(env), stdout=subprocess.DEVNULL)
    try:
        base_url = f"http://{HOST}:{port}"
        wait_ready(process, base_url)
        yield base_url
    finally:
        stop(process)


def run_load(
    target: Target,
    base_url: str,
    attempt_id: str,
    args: argparse.Namespace,
    env: Mapping[str, str],
) -> dict[str, Any]:
    """Load one server from a separate process; its JSON summary."""
    command = [
        sys.executable,
        str(LOAD),
        "--base-url",
        base_url,
        "--path",
        target.path,
        "--attempt-id",
        attempt_id,
        "--tag",
        f"{target.kind}-{secrets.token_hex(4)}",
        "--duration",
        str(args.duration),
        "--warmup",
        str(args.warmup),
        "--concurrency",
        str(args.concurrency),
    ]
    timeout = args.duration + args.warmup + LOAD_GRACE_SECONDS
    done = subprocess.run(
        command, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- report ---------------------------------------------------------------------------


def print_table(results: Mapping[Target, Mapping[str, Any]]) -> None:
    """Requests, req/s, p50, p99 and non-200 answers of each server."""
    print(f"{'server':<16} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  other")
    for target, r in results.items():
        other = {k: v for k, v in r["statuses"].items() if k != "200"} or "-"
        print(
            f"{target.label:<16} {r['ok']:>9} {r['rps']:>9.1f} "
            f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}  {other}"
        )


def print_ratio(results: Mapping[Target, Mapping[str, Any]]) -> None:
    """The throughput ratio ours/bare and whether it meets the target."""
    bare_rps = results[BARE]["rps"]
    ratio = results[OURS]["rps"] / bare_rps if bare_rps else 0.0
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"throughput ratio ours/bare: {ratio:.2f} (target >= {TARGET_RATIO}: {verdict})")


def answered_ok(result: Mapping[str, Any]) -> int:
    """200 answers in the warm-up and the measurement (both store rows)."""
    return int(result["warmup_ok"]) + int(result["ok"])


def check_rows(
    results: Mapping[Target, Mapping[str, Any]],
    before: Mapping[str, int],
    after: Mapping[str, int],
) -> bool:
    """Print whether every 200 answer left its rows; True if they all did."""
    added = {table: after[table] - before[table] for table in after}
    ours, bare = answered_ok(results[OURS]), answered_ok(results[BARE])
    checks = [
        ("gd_notification", ours),
        ("gd_job", ours),
        (BARE_TABLE, bare),
    ]
    is_ok = True
    for table, expected in checks:
        matches = added[table] == expected
        is_ok = is_ok and matches
        mark = "ok" if matches else "MISMATCH"
        print(f"rows added to {table:<18} {added[table]:>8}  200 answers {expected:>8}  {mark}")
    return is_ok


# --- orchestration --------------------------------------------------------------------


def measure(
    url: str, folder: Path, args: argparse.Namespace
) -> tuple[dict[Target, dict[str, Any]], dict[str, int], dict[str, int]]:
    """Seed, then load each server in turn; the results and row counts before and after."""
    secret = secrets.token_bytes(32)
    attempt_id = asyncio.run(seed(url, folder, secret))
    env = {**os.environ, SECRET_ENV: secret.hex()}
    results: dict[Target, dict[str, Any]] = {}
    with serve(BARE, url, folder, env) as bare_url:
        # the bare server creates its table at start-up: count only once it is there
        before = asyncio.run(count_rows(url))
        with serve(OURS, url, folder, env) as ours_url:
            for target, base_url in ((OURS, ours_url), (BARE, bare_url)):
                print(f"loading {target.label} ...", file=sys.stderr, flush=True)
                results[target] = run_load(target, base_url, attempt_id, args, env)
    after = asyncio.run(count_rows(url))
    return results, before, after


def run(server_url: str, args: argparse.Namespace) -> int:
    """Benchmark on a throwaway database, always dropped; 1 if rows are missing."""
    url = databases.create_postgresql(server_url)
    try:
        with tempfile.TemporaryDirectory(prefix="gd-bench-") as folder:
            results, before, after = measure(url, Path(folder), args)
    finally:
        databases.drop_postgresql(server_url, url)
    print(
        f"webhook intake, PostgreSQL, {args.concurrency} concurrent clients, "
        f"{args.duration:g} s per server after {args.warmup:g} s warm-up, "
        f"{os.cpu_count()} CPUs"
    )
    print_table(results)
    print_ratio(results)
    return 0 if check_rows(results, before, after) else 1


def positive(kind: type[float] | type[int], limit: float) -> Any:
    """An argparse type: a number above zero and at most ``limit``."""

    def parse(text: str) -> float | int:
        value = kind(text)
        if not 0 < value <= limit:
            raise argparse.ArgumentTypeError(f"must be above 0 and at most {limit:g}")
        return value

    return parse


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration",
        type=positive(float, 300),
        default=10.0,
        help="seconds measured per server (default 10)",
    )
    parser.add_argument(
        "--warmup",
        type=positive(float, 60),
        default=2.0,
        help="seconds of unrecorded load before measuring (default 2)",
    )
    parser.add_argument(
        "--concurrency",
        type=positive(int, 256),
        default=16,
        help="requests in flight at once (default 16)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, or say why it is skipped."""
    args = parse_args(argv)
    variable = next((v for v in URL_VARIABLES if os.environ.get(v)), None)
    if variable is None:
        print(
            "webhook intake benchmark skipped: set GD_BENCH_DATABASE_URL or "
            "GD_TEST_DATABASE_URL (postgresql+asyncpg://user@host:port/database)"
        )
        return 0
    server_url = os.environ[variable]
    if not server_url.startswith("postgresql+asyncpg://"):
        print(f"{variable} must be a postgresql+asyncpg:// URL", file=sys.stderr)
        return 2
    return run(server_url, args)


if __name__ == "__main__":
    sys.exit(main())
