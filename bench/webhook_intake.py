"""Webhook intake throughput and latency on PostgreSQL, next to a bare Starlette endpoint.

Creates a throwaway database on the server named by ``GD_BENCH_DATABASE_URL`` (or else
``GD_TEST_DATABASE_URL``), seeds a pending payment attempt through the real code, then serves
the gated-delivery app and a bare one-insert Starlette app with uvicorn, each in its own
process, and loads them in turn, in alternating slices, from a third process with the same
settings. Prints requests, req/s, p50 and p99 for both, the throughput ratio (target: ours
>= 0.5 of the bare one) and checks that every 200 answer left its rows in the database::

    python bench/webhook_intake.py [--duration 10] [--warmup 2] [--rounds 5]
                                   [--concurrency 16] [--client raw|httpx]

Without a database URL it prints why and exits 0 ("skipped"). Exits 1 if rows are missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
from _webhook_intake.apps import bench_settings
from _webhook_intake.common import BARE_TABLE, HOST, SECRET_ENV, plain_url

from gated_delivery.catalogue import upsert_product
from gated_delivery.checkout import start_attempt
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.runtime import build_runtime
from gated_delivery.testing import FakeProvider, ProviderPlugin, databases

HERE: Final = Path(__file__).resolve().parent
#: Run with ``python -m``, ``HERE`` on their PYTHONPATH.
APPS: Final = "_webhook_intake.apps"
LOAD: Final = "_webhook_intake.load"
URL_VARIABLES: Final = ("GD_BENCH_DATABASE_URL", "GD_TEST_DATABASE_URL")
TARGET_RATIO: Final = 0.5
START_TIMEOUT_SECONDS: Final = 60.0
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


@dataclass(frozen=True)
class Server:
    """A server process and the address it answers on."""

    process: subprocess.Popen[bytes]
    base_url: str


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
    """Rows in the intake tables of both servers."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        counts: dict[str, int] = {}
        for table in ("gd_notification", "gd_job", BARE_TABLE):
            query = f"SELECT count(*) FROM {table}"  # noqa: S608 - names are constants
            counts[table] = await conn.fetchval(query)
        return counts
    finally:
        await conn.close()


# --- processes ------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start(target: Target, url: str, folder: Path, env: Mapping[str, str]) -> Server:
    """Start one server in a subprocess on a free loopback port (not yet ready)."""
    port = free_port()
    command = [sys.executable, "-m", APPS, target.kind, "--port", str(port)]
    command += ["--database-url", url, "--folder", str(folder)]
    process = subprocess.Popen(command, env=dict(env), stdout=subprocess.DEVNULL)
    return Server(process, f"http://{HOST}:{port}")


def wait_ready(server: Server, deadline: float) -> None:
    """Poll ``/healthz`` until it answers 200; raise if the process dies or never answers."""
    with httpx.Client(base_url=server.base_url, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                code = server.process.returncode
                raise RuntimeError(f"server at {server.base_url} exited with {code}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/healthz").status_code == 200:
                    return
            time.sleep(0.1)
    raise RuntimeError(f"server at {server.base_url} did not start in {START_TIMEOUT_SECONDS} s")


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
def serving(url: str, folder: Path, env: Mapping[str, str]) -> Iterator[dict[Target, Server]]:
    """Both servers, started side by side, ready; stopped on exit whatever happened."""
    with contextlib.ExitStack() as stack:
        servers: dict[Target, Server] = {}
        for target in (OURS, BARE):
            servers[target] = start(target, url, folder, env)
            stack.callback(stop, servers[target].process)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        for server in servers.values():
            wait_ready(server, deadline)
        yield servers


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the name, in brackets, may hold spaces
    ticks = int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15 of stat
    return ticks / os.sysconf("SC_CLK_TCK")


def load_command(
    servers: Mapping[Target, Server], attempt_id: str, args: argparse.Namespace
) -> list[str]:
    """The load generator's command line: every server, the same settings."""
    command = [sys.executable, "-m", LOAD, "--attempt-id", attempt_id]
    for target, server in servers.items():
        command += ["--target", target.kind, server.base_url, target.path]
    return [
        *command,
        *("--tag", secrets.token_hex(6), "--client", args.client),
        *("--duration", str(args.duration), "--warmup", str(args.warmup)),
        *("--rounds", str(args.rounds), "--concurrency", str(args.concurrency)),
    ]


def run_load(
    servers: Mapping[Target, Server],
    attempt_id: str,
    args: argparse.Namespace,
    env: Mapping[str, str],
) -> dict[Target, dict[str, Any]]:
    """Load the servers from a separate process; its summaries, with each server's CPU."""
    before = {t: cpu_seconds(s.process.pid) for t, s in servers.items()}
    done = subprocess.run(
        load_command(servers, attempt_id, args),
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=len(servers) * (args.duration + args.warmup) + LOAD_GRACE_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr}")
    summaries = json.loads(done.stdout)
    results: dict[Target, dict[str, Any]] = {}
    for target, server in servers.items():
        result: dict[str, Any] = summaries[target.kind]
        after = cpu_seconds(server.process.pid)
        result["server_cpu_ms"] = cpu_ms_per_request(before[target], after, result["sent"])
        results[target] = result
    return results


def cpu_ms_per_request(before: float | None, after: float | None, sent: int) -> float | None:
    """Server CPU milliseconds per request sent, when both readings exist."""
    if before is None or after is None or sent == 0:
        return None
    return (after - before) * 1000 / sent


# --- report ---------------------------------------------------------------------------


def print_table(results: Mapping[Target, Mapping[str, Any]]) -> None:
    """Requests, req/s, p50, p99, CPU per request and non-200 answers of each server."""
    print(
        f"{'server':<16} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'server cpu ms/req':>17} {'client cpu ms/req':>17}  not 200"
    )
    for target, r in results.items():
        other = {k: v for k, v in r["statuses"].items() if k != "200"} or "-"
        server_cpu = "-" if r["server_cpu_ms"] is None else f"{r['server_cpu_ms']:.2f}"
        print(
            f"{target.label:<16} {r['ok']:>9} {r['rps']:>8.1f} {r['p50_ms']:>8.2f}"
            f" {r['p99_ms']:>8.2f} {server_cpu:>17} {r['client_cpu_ms']:>17.2f}  {other}"
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
    ours, bare = answered_ok(results[OURS]), answered_ok(results[BARE])
    is_ok = True
    for table, expected in (("gd_notification", ours), ("gd_job", ours), (BARE_TABLE, bare)):
        added = after[table] - before[table]
        is_ok = is_ok and added == expected
        mark = "ok" if added == expected else "MISMATCH"
        print(f"rows added to {table:<18} {added:>8}  200 answers {expected:>8}  {mark}")
    return is_ok


def print_report(
    args: argparse.Namespace,
    results: Mapping[Target, Mapping[str, Any]],
    before: Mapping[str, int],
    after: Mapping[str, int],
) -> bool:
    """The whole report; True if the row counts match the 200 answers."""
    print(
        f"webhook intake on PostgreSQL: {args.concurrency} concurrent requests, "
        f"{args.duration:g} s per server in {args.rounds} alternating slices "
        f"after {args.warmup:g} s warm-up, "
        f"{args.client} client, {os.cpu_count()} CPUs"
    )
    print_table(results)
    print_ratio(results)
    return check_rows(results, before, after)


# --- orchestration --------------------------------------------------------------------

_STARTED: Final = time.monotonic()


def progress(message: str) -> None:
    """A progress line on stderr, with the seconds since start."""
    print(f"[{time.monotonic() - _STARTED:5.1f} s] {message}", file=sys.stderr, flush=True)


def child_env(secret: bytes) -> dict[str, str]:
    """The environment of the server and load processes: ours, plus the secret and path."""
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    return {**os.environ, SECRET_ENV: secret.hex(), "PYTHONPATH": path}


def measure(
    url: str, folder: Path, args: argparse.Namespace
) -> tuple[dict[Target, dict[str, Any]], dict[str, int], dict[str, int]]:
    """Seed, then load each server in turn; the results and row counts before and after."""
    secret = secrets.token_bytes(32)
    progress("seeding a pending payment attempt; starting the servers")
    attempt_id = asyncio.run(seed(url, folder, secret))
    env = child_env(secret)
    with serving(url, folder, env) as servers:
        # the bare server creates its table at start-up: count once both are up
        before = asyncio.run(count_rows(url))
        progress("servers up; loading them in turn")
        results = run_load(servers, attempt_id, args, env)
    after = asyncio.run(count_rows(url))
    return results, before, after


def run(server_url: str, args: argparse.Namespace) -> int:
    """Benchmark on a throwaway database, always dropped; 1 if rows are missing."""
    progress("creating and migrating a throwaway database")
    url = databases.create_postgresql(server_url)
    try:
        with tempfile.TemporaryDirectory(prefix="gd-bench-") as folder:
            results, before, after = measure(url, Path(folder), args)
    finally:
        databases.drop_postgresql(server_url, url)
    return 0 if print_report(args, results, before, after) else 1


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
        "--rounds",
        type=positive(int, 100),
        default=5,
        help="slices the measurement is cut in, alternating between servers (default 5)",
    )
    parser.add_argument(
        "--concurrency",
        type=positive(int, 256),
        default=16,
        help="requests in flight at once (default 16)",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="load generator's HTTP client (default raw: see bench/_webhook_intake/load.py)",
    )
    return parser.parse_args(argv)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit``, so that servers and database are still cleaned up."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, or say why it is skipped."""
    args = parse_args(argv)
    exit_on_sigterm()
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
