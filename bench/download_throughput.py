"""Download throughput of a 200 MB file through our route vs Starlette's FileResponse.

Prepares a SQLite database with a published order whose deliverable is a 200 MB file in
private storage, serves the gated-delivery app and a bare Starlette ``FileResponse`` route on
the same file, each with uvicorn in its own process, and downloads from each in turn, in
alternating rounds, from this process. Prints MB/s for both, the ratio (target: ours >= 0.8
of FileResponse) and each server's peak RSS growth while serving (target: under 32 MiB)::

    python bench/download_throughput.py [--size-mb 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

HOST: Final = "127.0.0.1"
TARGET_RATIO: Final = 0.8
TARGET_RSS_MIB: Final = 32
CHUNK: Final = 1024 * 1024


def _env(folder: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "GD_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.sqlite3",
        "GD_SECRET_KEY": "bench-" + "k" * 40,
        "GD_BASE_URL": f"http://{HOST}:{port}",
        "PRIVATE_MEDIA_ROOT": str(folder / "media"),
        "GD_MAIL_DIR": str(folder / "mail"),
        "GD_EMBEDDED_WORKER": "0",
        "GD_RECONCILE_EVERY_MINUTES": "0",
        "GD_DOWNLOAD_MAX_USES": "1000",
    }


async def prepare(folder: Path, size_mb: int) -> tuple[str, Path]:
    """Seed a published order with a ``size_mb`` file; return its link path and file path."""
    from gated_delivery import tokens
    from gated_delivery.catalogue import upsert_product
    from gated_delivery.config import load_settings
    from gated_delivery.models import Asset, AssetKind
    from gated_delivery.money import Money
    from gated_delivery.orders import create_order
    from gated_delivery.runtime import build_runtime
    from gated_delivery.states import FulfilmentState, PaymentStatus

    rt = build_runtime(load_settings())
    try:
        await rt.db.upgrade()
        block = os.urandom(CHUNK)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(size_mb):
                yield block

        stored = await rt.storage.save("benchmark/bigfile01", chunks())
        now = rt.clock.now()
        async with rt.db.transaction() as session:
            product, _ = await upsert_product(
                session,
                slug="big",
                title="Big",
                tier_id="std",
                tier_label="Std",
                price=Money(5000, "XOF"),
            )
            asset = Asset(
                product_id=product.id,
                kind=AssetKind.PRODUCT_FILE,
                storage="local",
                key=stored.key,
                filename="big.bin",
                media_type="application/octet-stream",
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                created_at=now,
            )
            session.add(asset)
            order = await create_order(
                session, product_slug="big", tier_id="std", buyer_email="a@example.org", now=now
            )
            # straight to a delivered state: this measures downloading, not paying
            order.payment_status = PaymentStatus.PAID
            order.fulfilment_status = FulfilmentState.PUBLISHED
            await session.flush()
            token = await tokens.issue(
                session, rt.settings, order=order, asset=asset, now=now, actor="bench"
            )
            signed = tokens.sign(rt.settings, token.id)
        return f"/download/{signed}", rt.settings.private_media_root / stored.key
    finally:
        await rt.close()


def serve(role: str, port: int, file_path: str) -> None:
    """Run one server in this process (called in a child process)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, Response
    from starlette.routing import Route

    if role == "ours":
        from gated_delivery.web import create_app

        app = create_app(run_worker=False)
    else:

        async def bare(request: object) -> Response:
            return FileResponse(file_path, filename="big.bin")

        app = Starlette(routes=[Route("/file", bare, methods=["GET", "POST"])])
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False)


@dataclass
class Server:
    """A child server process and its peak RSS growth while it was loaded."""

    name: str
    process: subprocess.Popen[bytes]
    path: str
    port: int
    speeds: list[float] = field(default_factory=list)
    peak_growth_kib: int = 0


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextlib.contextmanager
def _watch_rss(server: Server) -> Iterator[None]:
    baseline = _rss_kib(server.process.pid)
    peak = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_kib(server.process.pid))
            stop.wait(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        server.peak_growth_kib = max(server.peak_growth_kib, peak[0] - baseline)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _wait_up(port: int) -> None:
    for _ in range(300):  # bounded: at most ~60 s
        with contextlib.suppress(httpx.TransportError):
            httpx.get(f"http://{HOST}:{port}/healthz", timeout=1)
            return
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} never answered")


def download(server: Server, expected_bytes: int) -> None:
    """POST the link (ours) or GET the file (bare), read every byte, record MB/s."""
    url = f"http://{HOST}:{server.port}{server.path}"
    started = time.perf_counter()
    received = 0
    with httpx.Client(timeout=120) as client, client.stream("POST", url) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(CHUNK):
            received += len(chunk)
    elapsed = time.perf_counter() - started
    if received != expected_bytes:
        raise SystemExit(f"{server.name}: got {received} bytes, expected {expected_bytes}")
    server.speeds.append(received / elapsed / 1e6)


def main() -> None:
    """Prepare, serve both, download in alternating rounds, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", choices=["ours", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.file)
        return
    with tempfile.TemporaryDirectory(prefix="gd-bench-download-") as tmp:
        folder = Path(tmp)
        ports = {"ours": _free_port(), "bare": _free_port()}
        os.environ.update(_env(folder, ports["ours"]))
        link, file_path = asyncio.run(prepare(folder, args.size_mb))
        size = file_path.stat().st_size
        servers: list[Server] = []
        try:
            for name, path in (("gated-delivery", link), ("FileResponse", "/file")):
                role = "ours" if name == "gated-delivery" else "bare"
                process = subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--serve",
                        role,
                        "--port",
                        str(ports[role]),
                        "--file",
                        str(file_path),
                    ],
                    env=_env(folder, ports["ours"]),
                )
                servers.append(Server(name, process, path, ports[role]))
            _wait_up(ports["ours"])
            _wait_up_bare(ports["bare"])
            for server in servers:
                download(server, size)  # warm-up, not counted
                server.speeds.clear()
            for _ in range(args.rounds):
                for server in servers:
                    with _watch_rss(server):
                        download(server, size)
        finally:
            for server in servers:
                server.process.terminate()
                server.process.wait(timeout=30)
        report(servers, args.size_mb)


def _wait_up_bare(port: int) -> None:
    for _ in range(300):
        with contextlib.suppress(httpx.TransportError):
            httpx.head(f"http://{HOST}:{port}/file", timeout=1)
            return
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} never answered")


def report(servers: list[Server], size_mb: int) -> None:
    """Print the table and the verdicts."""
    print(
        f"download of a {size_mb} MB file, {len(servers[0].speeds)} rounds, {os.cpu_count()} CPUs"
    )
    print(f"{'server':<16}{'best MB/s':>12}{'median MB/s':>14}{'peak RSS growth MiB':>22}")
    medians = {}
    for server in servers:
        speeds = sorted(server.speeds)
        medians[server.name] = speeds[len(speeds) // 2]
        print(
            f"{server.name:<16}{speeds[-1]:>12.0f}{medians[server.name]:>14.0f}"
            f"{server.peak_growth_kib / 1024:>22.1f}"
        )
    ratio = medians["gated-delivery"] / medians["FileResponse"]
    met = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"throughput ratio ours/FileResponse: {ratio:.2f} (target >= {TARGET_RATIO}: {met})")
    ours = next(s for s in servers if s.name == "gated-delivery")
    rss = ours.peak_growth_kib / 1024
    verdict = "met" if rss < TARGET_RSS_MIB else "NOT met"
    print(
        f"our peak RSS growth while downloading: {rss:.1f} MiB "
        f"(target < {TARGET_RSS_MIB} MiB: {verdict})"
    )


if __name__ == "__main__":
    main()
