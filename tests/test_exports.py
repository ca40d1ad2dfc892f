"""Exports for the accountant: CSV and XLSX, their totals against SQL sums, the command."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import load_workbook

from gated_delivery import exports
from gated_delivery.cli import main
from gated_delivery.errors import InvalidInput
from gated_delivery.models import Order, PaymentAttempt, Product
from gated_delivery.runtime import Runtime
from gated_delivery.states import PaymentStatus
from gated_delivery.testing.seeding import SeededOrder, seed_orders

DAY = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
NOVEMBER = exports.parse_range("2026-11-01", "2026-11-30", "UTC")


def seeds() -> list[SeededOrder]:
    found = []
    for n in range(40):
        created = DAY + timedelta(hours=7 * n)  # 10 to 21 November
        found.append(
            SeededOrder(
                created,
                amount_minor=1000 + n,
                paid_at=created + timedelta(minutes=3) if n % 3 else None,
                is_refunded=n == 4,
                buyer_name="=HYPERLINK(evil)" if n == 5 else f"Client {n}",
            )
        )
    found.append(SeededOrder(datetime(2026, 12, 1, 0, 0, tzinfo=UTC)))  # outside November
    found.append(SeededOrder(datetime(2026, 11, 30, 23, 59, tzinfo=UTC), amount_minor=7))
    return found


async def seeded(rt: Runtime, product: Product) -> None:
    async with rt.db.transaction() as session:
        await seed_orders(session, product.id, "std", seeds())


async def sql_totals(rt: Runtime) -> tuple[int, int, int]:
    """Orders in November, their amount sum, and the sum of the paid ones (SQL)."""
    window = (Order.created_at >= NOVEMBER.start, Order.created_at < NOVEMBER.end)
    async with rt.db.transaction() as session:
        count, total = (
            await session.execute(
                sa.select(sa.func.count(), sa.func.sum(Order.amount_minor)).where(*window)
            )
        ).one()
        paid = (
            await session.execute(
                sa.select(sa.func.sum(Order.amount_minor)).where(
                    *window, Order.payment_status == PaymentStatus.PAID
                )
            )
        ).scalar_one()
    return int(count), int(total), int(paid)


async def csv_rows(rt: Runtime, kind: exports.Kind) -> list[dict[str, str]]:
    body = b"".join([chunk async for chunk in exports.csv_chunks(rt, kind, NOVEMBER)])
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def test_orders_csv_totals_match_sql(gd_runtime: Runtime, gd_product: Product) -> None:
    await seeded(gd_runtime, gd_product)
    rows = await csv_rows(gd_runtime, "orders")
    count, total, paid = await sql_totals(gd_runtime)
    assert len(rows) == count == 41
    assert list(rows[0]) == list(exports.ORDER_COLUMNS)
    assert sum(Decimal(r["amount"]) for r in rows) == total
    assert sum(Decimal(r["amount"]) for r in rows if r["payment_state"] == "paid") == paid
    refunded = [r for r in rows if r["refunded"] == "yes"]
    assert len(refunded) == 1
    assert refunded[0]["payment_state"] == "refunded"
    first_paid = next(r for r in rows if r["paid_at"])
    assert first_paid["provider"] == "fake"
    assert first_paid["provider_ref"].startswith("ref-")
    assert first_paid["currency"] == "XOF"
    assert rows[-1]["created_at"] == "2026-11-30T23:59:00+00:00"  # the last day is included


async def test_a_formula_in_a_name_stays_text(gd_runtime: Runtime, gd_product: Product) -> None:
    await seeded(gd_runtime, gd_product)
    names = [r["buyer_name"] for r in await csv_rows(gd_runtime, "orders")]
    assert "'=HYPERLINK(evil)" in names
    assert not any(n.startswith("=") for n in names)


async def test_attempts_csv(gd_runtime: Runtime, gd_product: Product) -> None:
    await seeded(gd_runtime, gd_product)
    rows = await csv_rows(gd_runtime, "attempts")
    async with gd_runtime.db.transaction() as session:
        expected = (
            await session.execute(sa.select(sa.func.sum(PaymentAttempt.confirmed_amount_minor)))
        ).scalar_one()
    assert len(rows) == sum(1 for n in range(40) if n % 3)
    assert sum(Decimal(r["confirmed_amount"]) for r in rows) == expected
    assert {r["state"] for r in rows} == {"succeeded"}


async def test_xlsx_reads_back(gd_runtime: Runtime, gd_product: Product, tmp_path: Path) -> None:
    await seeded(gd_runtime, gd_product)
    path = tmp_path / "orders.xlsx"
    assert await exports.write_xlsx(gd_runtime, "orders", NOVEMBER, path) == 41
    sheet = load_workbook(path, read_only=True).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == exports.ORDER_COLUMNS
    amount = exports.ORDER_COLUMNS.index("amount")
    _count, total, _paid = await sql_totals(gd_runtime)
    assert sum(Decimal(str(row[amount])) for row in values[1:]) == total


def test_bad_ranges_are_refused_with_the_field() -> None:
    with pytest.raises(InvalidInput, match="YYYY-MM-DD") as bad:
        exports.parse_range("01/11/2026", "2026-11-30", "UTC")
    assert bad.value.field == "from"
    with pytest.raises(InvalidInput, match="before"):
        exports.parse_range("2026-11-30", "2026-11-01", "UTC")


async def test_the_export_command_writes_the_file(
    gd_runtime: Runtime,
    gd_product: Product,
    gd_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seeded(gd_runtime, gd_product)
    monkeypatch.setenv("GD_DATABASE_URL", gd_database_url)
    monkeypatch.setenv("GD_SANDBOX", "1")
    monkeypatch.setenv("PRIVATE_MEDIA_ROOT", str(tmp_path / "media"))
    runner = CliRunner()
    target = tmp_path / "novembre.csv"
    args = ["orders", "export", "--from", "2026-11-01", "--to", "2026-11-30"]
    result = await asyncio.to_thread(runner.invoke, main, [*args, "--output", str(target)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig"), newline="")))
    assert len(rows) == 41
    xlsx = tmp_path / "novembre.xlsx"
    result = await asyncio.to_thread(
        runner.invoke, main, [*args, "--format", "xlsx", "--output", str(xlsx)]
    )
    assert result.exit_code == 0, result.output
    assert load_workbook(xlsx, read_only=True).active is not None
    bad = await asyncio.to_thread(
        runner.invoke, main, ["orders", "export", "--from", "demain", "--to", "2026-11-30"]
    )
    assert bad.exit_code != 0
    assert "YYYY-MM-DD" in bad.output
