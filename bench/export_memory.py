"""Memory of a streamed export: 100,000 orders on PostgreSQL written to CSV.

Seeds a throwaway PostgreSQL database (``GD_TEST_DATABASE_URL`` names the server), then runs
the export in a fresh process, which measures its own peak RSS growth during the export
(target: under 64 MiB) from ``VmHWM`` reset just before it. The parent then reads the CSV
with the csv module and checks its row count and amount totals against SQL sums::

    GD_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        python bench/export_memory.py [--orders 100000]

Linux only. Exits 1 if the CSV and the database disagree or the target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from upload_memory import reset_peak, status_kib

from gated_delivery import exports
from gated_delivery.catalogue import upsert_product
from gated_delivery.config import CoreSettings
from gated_delivery.models import Order
from gated_delivery.money import Money
from gated_delivery.runtime import Runtime, build_runtime
from gated_delivery.states import PaymentStatus
from gated_delivery.testing import databases
from gated_delivery.testing.seeding import SeededOrder, seed_orders

MIB: Final = 1024 * 1024
TARGET_GROWTH_BYTES: Final = 64 * MIB
START: Final = datetime(2026, 1, 1, tzinfo=UTC)
RANGE: Final = ("2026-01-01", "2026-12-31")


def _runtime(url: str) -> Runtime:
    settings = CoreSettings(database_url=url, secret_key="bench-" + "k" * 40, sandbox=True)
    return build_runtime(settings, load_entry_points=False)


async def seed(url: str, orders: int) -> None:
    """``orders`` orders over the year, two in three paid."""
    rt = _runtime(url)
    try:
        async with rt.db.transaction() as session:
            product, _tier = await upsert_product(
                session,
                slug="kit",
                title="Kit",
                tier_id="std",
                tier_label="Standard",
                price=Money(150_000, "XOF"),
            )
        step = timedelta(days=364) / orders
        for first in range(0, orders, 10_000):
            async with rt.db.transaction() as session:
                await seed_orders(
                    session,
                    product.id,
                    "std",
                    (
                        SeededOrder(
                            START + step * n,
                            amount_minor=100_000 + n % 997,
                            paid_at=START + step * n + timedelta(minutes=2) if n % 3 else None,
                            buyer_name=f"Client numéro {n}",
                            buyer_email=f"client{n}@example.org",
                        )
                        for n in range(first, min(first + 10_000, orders))
                    ),
                )
    finally:
        await rt.close()


async def sql_sums(url: str) -> tuple[int, int, int]:
    rt = _runtime(url)
    try:
        async with rt.db.transaction() as session:
            count, total = (
                await session.execute(sa.select(sa.func.count(), sa.func.sum(Order.amount_minor)))
            ).one()
            paid = (
                await session.execute(
                    sa.select(sa.func.sum(Order.amount_minor)).where(
                        Order.payment_status == PaymentStatus.PAID
                    )
                )
            ).scalar_one()
        return int(count), int(total), int(paid)
    finally:
        await rt.close()


async def export(url: str, target: Path) -> dict[str, object]:
    """In the child: export to ``target``, measuring this process's peak RSS growth."""
    rt = _runtime(url)
    span = exports.parse_range(*RANGE, "UTC")
    try:
        await rt.db.ping()  # the pool and the driver are loaded before the baseline
        baseline = status_kib(os.getpid(), "VmRSS")
        exact = reset_peak(os.getpid())
        began = time.perf_counter()
        size = 0
        with target.open("wb") as out:
            async for chunk in exports.chunks(rt, "orders", "csv", span):
                out.write(chunk)
                size += len(chunk)
        seconds = time.perf_counter() - began
        peak = status_kib(os.getpid(), "VmHWM")
    finally:
        await rt.close()
    return {
        "baseline_kib": baseline,
        "peak_kib": peak,
        "exact_peak": exact,
        "bytes": size,
        "seconds": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    server = os.environ.get("GD_TEST_DATABASE_URL")
    if not server:
        print("export_memory: skipped (set GD_TEST_DATABASE_URL to a PostgreSQL server)")
        return 0
    url = databases.create_postgresql(server)
    try:
        began = time.perf_counter()
        asyncio.run(seed(url, args.orders))
        print(f"export_memory: seeded {args.orders} orders in {time.perf_counter() - began:.1f} s")
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "orders.csv"
            child = subprocess.run(
                [sys.executable, __file__, "child", url, str(target)],
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode:
                print(child.stderr)
                return 1
            figures = json.loads(child.stdout.splitlines()[-1])
            with target.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle))
            count, total, paid = asyncio.run(sql_sums(url))
    finally:
        databases.drop_postgresql(server, url)
    growth = (figures["peak_kib"] - figures["baseline_kib"]) * 1024
    print(
        f"  CSV: {len(rows)} rows, {figures['bytes'] / MIB:.1f} MiB "
        f"in {figures['seconds']:.1f} s ({len(rows) / figures['seconds']:.0f} rows/s)"
    )
    print(
        f"  exporter RSS: baseline {figures['baseline_kib'] / 1024:.1f} MiB, "
        f"peak {figures['peak_kib'] / 1024:.1f} MiB "
        f"({'VmHWM' if figures['exact_peak'] else 'VmHWM not reset: peak since start'})"
    )
    print(f"  peak RSS growth: {growth / MIB:.1f} MiB (target under {TARGET_GROWTH_BYTES // MIB})")
    csv_total = sum(Decimal(r["amount"]) for r in rows)
    csv_paid = sum(Decimal(r["amount"]) for r in rows if r["payment_state"] == "paid")
    agree = (len(rows), csv_total, csv_paid) == (count, total, paid)
    print(f"  totals: CSV {csv_total} / SQL {total}; paid CSV {csv_paid} / SQL {paid}")
    print(f"  CSV and SQL {'agree' if agree else 'DISAGREE'}")
    return 0 if agree and growth < TARGET_GROWTH_BYTES else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "child":
        print(json.dumps(asyncio.run(export(sys.argv[2], Path(sys.argv[3])))), flush=True)
        sys.exit(0)
    sys.exit(main())
