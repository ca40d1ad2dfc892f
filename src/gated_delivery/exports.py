"""Orders and payment attempts for the accountant: CSV or XLSX, for a range of shop days.

Rows are read from the database a batch at a time (``yield_per``) and written out as they
come, so 100,000 orders export in bounded memory. Amounts are exact decimal strings in the
currency's major unit (``150000`` XOF, ``12.50`` EUR) beside their currency code; instants
are ISO 8601 in the shop's time zone. Keys, not labels: an export is read by software too.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from zoneinfo import ZoneInfo

import anyio
import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import aliased

from gated_delivery.db import AnySelect
from gated_delivery.errors import InvalidInput, MoneyError
from gated_delivery.formats import major_units, zone
from gated_delivery.models import Order, PaymentAttempt, Product
from gated_delivery.money import Money
from gated_delivery.states import AttemptState, PaymentStatus

if TYPE_CHECKING:
    from gated_delivery.runtime import Runtime

Kind = Literal["orders", "attempts"]
Format = Literal["csv", "xlsx"]
KINDS: Final = ("orders", "attempts")
FORMATS: Final = ("csv", "xlsx")
#: Rows fetched from the database at a time.
BATCH_ROWS: Final = 2000
#: Longest range one export may cover.
MAX_DAYS: Final = 366 * 5
MEDIA_TYPES: Final = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

ORDER_COLUMNS: Final = (
    "created_at",
    "paid_at",
    "order_id",
    "buyer_name",
    "buyer_email",
    "product",
    "tier",
    "amount",
    "currency",
    "provider",
    "provider_ref",
    "payment_state",
    "fulfilment_state",
    "refunded",
)
ATTEMPT_COLUMNS: Final = (
    "created_at",
    "attempt_id",
    "order_id",
    "buyer_email",
    "product",
    "tier",
    "amount",
    "currency",
    "confirmed_amount",
    "confirmed_currency",
    "provider",
    "provider_ref",
    "state",
    "refunded",
)


@dataclass(frozen=True)
class ExportRange:
    """Shop days ``first`` to ``last``, both included, in the shop's time zone."""

    first: date
    last: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first instant of ``first``."""
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        """The first instant after ``last``."""
        after = self.last + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=self.tz)


def parse_range(first: str, last: str, timezone: str) -> ExportRange:
    """Check two ``YYYY-MM-DD`` days; ``InvalidInput`` naming the faulty one otherwise."""
    days = []
    for name, text in (("from", first), ("to", last)):
        try:
            days.append(date.fromisoformat(text.strip()))
        except ValueError:
            raise InvalidInput(
                f"the {name} date {text[:20]!r} is not a day; write YYYY-MM-DD", field=name
            ) from None
    if days[1] < days[0]:
        raise InvalidInput("the to date is before the from date; swap them", field="to")
    if (days[1] - days[0]).days > MAX_DAYS:
        raise InvalidInput(f"export at most {MAX_DAYS} days at a time", field="to")
    return ExportRange(days[0], days[1], zone(timezone))


def check_choice(value: str, allowed: Sequence[str], name: str) -> str:
    """``value`` if it is one of ``allowed``, else ``InvalidInput`` listing them."""
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", field=name)
    return value


def columns(kind: Kind) -> tuple[str, ...]:
    """The header row of an export."""
    return ORDER_COLUMNS if kind == "orders" else ATTEMPT_COLUMNS


def _orders_query(span: ExportRange) -> AnySelect:
    # an order has at most one succeeded attempt (a unique partial index says so), so the
    # outer join adds no row; it follows the attempts' order_id index whatever the statistics
    paid = aliased(PaymentAttempt)
    return (
        sa.select(
            Order.created_at,
            Order.paid_at,
            Order.id,
            Order.buyer_name,
            Order.buyer_email,
            Product.slug,
            Order.tier_id,
            Order.amount_minor,
            Order.currency,
            paid.provider,
            paid.provider_ref,
            Order.payment_status,
            Order.fulfilment_status,
        )
        .join(Product, Product.id == Order.product_id)
        .outerjoin(paid, sa.and_(paid.order_id == Order.id, paid.state == AttemptState.SUCCEEDED))
        .where(Order.created_at >= span.start, Order.created_at < span.end)
        .order_by(Order.created_at, Order.id)
    )


def _attempts_query(span: ExportRange) -> AnySelect:
    return (
        sa.select(
            PaymentAttempt.created_at,
            PaymentAttempt.id,
            Order.id,
            Order.buyer_email,
            Product.slug,
            Order.tier_id,
            PaymentAttempt.amount_minor,
            PaymentAttempt.currency,
            PaymentAttempt.confirmed_amount_minor,
            PaymentAttempt.confirmed_currency,
            PaymentAttempt.provider,
            PaymentAttempt.provider_ref,
            PaymentAttempt.state,
            Order.payment_status,
        )
        .join(Order, Order.id == PaymentAttempt.order_id)
        .join(Product, Product.id == Order.product_id)
        .where(PaymentAttempt.created_at >= span.start, PaymentAttempt.created_at < span.end)
        .order_by(PaymentAttempt.created_at, PaymentAttempt.id)
    )


def _amount(minor: int | None, currency: str | None) -> Decimal | None:
    if minor is None or not currency:
        return None
    try:
        return major_units(Money(minor, currency))
    except MoneyError:  # a currency we do not handle: keep the minor units as they are
        return Decimal(minor)


def _when(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def _order_row(row: Sequence[Any], tz: ZoneInfo) -> list[Any]:
    created, paid_at, order_id, name, email, product, tier, minor, currency = row[:9]
    provider, ref, payment, fulfilment = row[9:]
    return [
        _when(created, tz),
        _when(paid_at, tz),
        order_id,
        name,
        email,
        product,
        tier,
        _amount(minor, currency),
        currency,
        provider or "",
        ref or "",
        payment.value,
        fulfilment.value,
        "yes" if payment is PaymentStatus.REFUNDED else "no",
    ]


def _attempt_row(row: Sequence[Any], tz: ZoneInfo) -> list[Any]:
    created, attempt_id, order_id, email, product, tier, minor, currency = row[:8]
    confirmed, confirmed_currency, provider, ref, state, payment = row[8:]
    return [
        _when(created, tz),
        attempt_id,
        order_id,
        email,
        product,
        tier,
        _amount(minor, currency),
        currency,
        _amount(confirmed, confirmed_currency),
        confirmed_currency or "",
        provider,
        ref or "",
        state.value,
        "yes" if payment is PaymentStatus.REFUNDED else "no",
    ]


async def rows(rt: Runtime, kind: Kind, span: ExportRange) -> AsyncIterator[list[Any]]:
    """The export's rows (without the header), read ``BATCH_ROWS`` at a time."""
    query = _orders_query(span) if kind == "orders" else _attempts_query(span)
    shape = _order_row if kind == "orders" else _attempt_row
    async with rt.db.transaction() as session:
        result = await session.stream(query.execution_options(yield_per=BATCH_ROWS))
        async for partition in result.partitions():
            for row in partition:
                yield shape(row, span.tz)


def _csv_cell(value: Any) -> Any:
    # a cell starting with = + - @ would run as a formula in a spreadsheet
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def csv_chunks(rt: Runtime, kind: Kind, span: ExportRange) -> AsyncIterator[bytes]:
    """The CSV file, UTF-8 with a byte-order mark (spreadsheets then read the accents)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns(kind))
    yield ("\ufeff" + buffer.getvalue()).encode()
    buffer.seek(0)
    buffer.truncate()
    count = 0
    async for row in rows(rt, kind, span):
        writer.writerow([_csv_cell(v) for v in row])
        count += 1
        if count % 500 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def write_xlsx(rt: Runtime, kind: Kind, span: ExportRange, path: Path) -> int:
    """Write the XLSX file at ``path`` (openpyxl's write-only mode); returns the row count."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=kind)
    sheet.append(list(columns(kind)))
    count = 0
    async for row in rows(rt, kind, span):
        sheet.append([_csv_cell(v) for v in row])
        count += 1
    await anyio.to_thread.run_sync(book.save, str(path))
    return count


async def xlsx_chunks(rt: Runtime, kind: Kind, span: ExportRange) -> AsyncIterator[bytes]:
    """The XLSX file, written to a private temporary file, streamed, then deleted."""
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        await write_xlsx(rt, kind, span, path)
        async with await anyio.open_file(path, "rb") as stream:
            while chunk := await stream.read(256 * 1024):
                yield chunk
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.Path(path).unlink(missing_ok=True)


def chunks(rt: Runtime, kind: Kind, fmt: Format, span: ExportRange) -> AsyncIterator[bytes]:
    """The export's bytes in the chosen format."""
    return csv_chunks(rt, kind, span) if fmt == "csv" else xlsx_chunks(rt, kind, span)


def filename(kind: Kind, fmt: Format, span: ExportRange) -> str:
    """``orders-2026-11-01-2026-11-30.csv``: no personal data in it."""
    return f"{kind}-{span.first.isoformat()}-{span.last.isoformat()}.{fmt}"
