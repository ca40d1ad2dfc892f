"""The staff home (web/staff/overview.py): figures in words, SVG charts, the exports form."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import httpx
import pytest
from openpyxl import load_workbook
from tests.web.staff.conftest import csrf_of

from gated_delivery.models import Product
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, FulfilmentState, PaymentStatus
from gated_delivery.testing import FrozenClock
from gated_delivery.testing.seeding import SeededOrder, seed_orders

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"
CODES = {s.value for s in (*PaymentStatus, *FulfilmentState, *AttemptState)}


@pytest.fixture
def gd_clock() -> FrozenClock:
    return FrozenClock(NOW)


class Text(HTMLParser):
    """The visible text of a page (no tags, no attributes, no style)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in ("style", "script", "svg")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("style", "script", "svg")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = Text()
    parser.feed(html)
    return " ".join(parser.parts)


async def seeded(rt: Runtime, product: Product) -> None:
    async with rt.db.transaction() as session:
        await seed_orders(
            session,
            product.id,
            "std",
            [
                SeededOrder(
                    NOW - timedelta(days=n, hours=1),
                    amount_minor=150_000,
                    paid_at=NOW - timedelta(days=n),
                    published_at=NOW - timedelta(days=n, hours=-2),
                )
                for n in range(0, 12, 3)
            ]
            + [SeededOrder(NOW - timedelta(hours=3))],
        )


def charts(html: str) -> dict[str, ET.Element]:
    found = {}
    for name, svg in re.findall(
        r'<section class="chart" id="([^"]+)".*?(<svg.*?</svg>)', html, re.S
    ):
        found[name] = ET.fromstring(svg)  # noqa: S314 - our own page; valid XML or it raises
    return found


async def test_the_overview_needs_a_login(gd_client: httpx.AsyncClient) -> None:
    response = await gd_client.get("/staff/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")
    export = await gd_client.post("/staff/exports", data={"kind": "orders"})
    assert export.status_code == 303


async def test_figures_in_french_and_charts_one_point_per_day(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime, gd_product: Product
) -> None:
    await seeded(gd_runtime, gd_product)
    page = await staff_client.get("/staff/")
    assert page.status_code == 200
    html = page.text
    text = visible_text(html)
    assert "600\u202f000\u00a0FCFA" in text  # 4 paid orders of 150 000 over 30 days
    assert "80\u00a0%" in text  # 4 paid of 5 created
    assert "2\u00a0heures" in text  # the median time to delivery
    words = set(re.findall(r"[a-z_]+", text))
    assert not words & CODES, words & CODES
    found = charts(html)
    assert set(found) == {
        "chart-paid",
        "chart-revenue",
        "chart-payment-states",
        "chart-fulfilment-states",
        "chart-delivery",
    }
    dots = found["chart-paid"].findall(f".//{SVG}circle")
    assert len(dots) == 30
    bars = found["chart-revenue"].findall(f".//{SVG}rect[@class='rect reactive tooltip-trigger']")
    assert len(bars) == 30
    assert "<script" not in html
    assert 'id="table-paid"' in html  # the same figures as text


async def test_english_overview(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime, gd_product: Product
) -> None:
    await seeded(gd_runtime, gd_product)
    text = visible_text((await staff_client.get("/staff/?lang=en")).text)
    assert "600,000\u00a0FCFA" in text
    assert "Last 30 days" in text


async def test_export_needs_the_csrf_token_and_keeps_data_out_of_the_url(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime, gd_product: Product
) -> None:
    await seeded(gd_runtime, gd_product)
    page = (await staff_client.get("/staff/")).text
    form = {"kind": "orders", "format": "csv", "date_from": "2026-11-01", "date_to": "2026-12-04"}
    assert (await staff_client.post("/staff/exports", data=form)).status_code == 403
    assert 'method="post" action="/staff/exports"' in page
    response = await staff_client.post("/staff/exports", data={**form, "csrf": csrf_of(page)})
    assert response.status_code == 200
    assert "orders-2026-11-01-2026-12-04.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 5
    assert sum(int(r["amount"]) for r in rows if r["payment_state"] == "paid") == 600_000
    xlsx = await staff_client.post(
        "/staff/exports", data={**form, "format": "xlsx", "csrf": csrf_of(page)}
    )
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert sheet is not None
    assert len(list(sheet.iter_rows(values_only=True))) == 6


async def test_a_bad_export_range_is_explained(
    staff_client: httpx.AsyncClient,
) -> None:
    page = (await staff_client.get("/staff/")).text
    form = {"kind": "orders", "format": "csv", "date_from": "hier", "date_to": "2026-12-04"}
    response = await staff_client.post("/staff/exports", data={**form, "csrf": csrf_of(page)})
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.text
