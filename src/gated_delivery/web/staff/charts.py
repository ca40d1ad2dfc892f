"""The overview's charts, drawn on the server as SVG by pygal (no JavaScript on the page).

Each chart comes with the same figures as a table on the page, for screen readers and for
exact values; the chart draws whole major units (the table has the exact amounts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

import pygal
from markupsafe import Markup
from pygal.style import Style

from gated_delivery.money import MINOR_UNIT_EXPONENTS
from gated_delivery.overview import Day

STYLE: Final = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2733",
    foreground_strong="#1d2733",
    foreground_subtle="#5b6877",
    colors=("#0b6e4f", "#0b3d91", "#d9a400", "#9b1c13", "#4a5663"),
    font_family="system-ui, sans-serif",
)
#: pygal's tooltips need its script, which the pages' policy would block anyway
_SCRIPT: Final = re.compile(r"<script\b.*?</script>", re.DOTALL)


def whole_ticks(values: Sequence[int]) -> list[int]:
    """Axis marks at whole numbers (a count of orders has no tenths), about five of them."""
    top = max([*values, 1])
    step = max(1, -(-top // 5))
    return list(range(0, top + step, step))


def _chart(kind: type[Any], title: str, labels: Sequence[str], **options: Any) -> Any:
    # the page's heading names the chart; pygal would draw the same words again
    del title
    chart = kind(
        style=STYLE,
        js=[],
        disable_xml_declaration=True,
        width=720,
        height=options.pop("height", 300),
        title=None,
        show_legend=options.pop("show_legend", False),
        x_label_rotation=options.pop("x_label_rotation", 0),
        print_values=False,
        **options,
    )
    chart.x_labels = list(labels)
    return chart


def _svg(chart: Any) -> Markup:
    text = str(chart.render(is_unicode=True))
    return Markup(_SCRIPT.sub("", text))  # noqa: S704 - pygal escapes the labels it draws


def day_label(day: Day) -> str:
    """A day on the x axis: ``04/12``."""
    return day.day.strftime("%d/%m")


def paid_per_day(days: Sequence[Day], title: str, series: str) -> Markup:
    """Paid orders per day, one point per day."""
    values = [d.paid for d in days]
    chart = _chart(
        pygal.Line,
        title,
        [day_label(d) for d in days],
        x_label_rotation=45,
        y_labels=whole_ticks(values),
    )
    chart.x_labels_major_every = 7
    chart.show_minor_x_labels = False
    chart.add(series, values)
    return _svg(chart)


def revenue_per_day(days: Sequence[Day], title: str) -> Markup:
    """Revenue per day in whole major units, one series (bar) per currency."""
    currencies = sorted({c for d in days for c in d.revenue})
    chart = _chart(
        pygal.Bar,
        title,
        [day_label(d) for d in days],
        x_label_rotation=45,
        show_legend=len(currencies) > 1,
    )
    chart.x_labels_major_every = 7
    chart.show_minor_x_labels = False
    for currency in currencies or ["XOF"]:
        unit = 10 ** MINOR_UNIT_EXPONENTS.get(currency, 0)
        chart.add(currency, [d.revenue.get(currency, 0) // unit for d in days])
    return _svg(chart)


def counts(labels: Sequence[str], values: Sequence[int], title: str, series: str) -> Markup:
    """A horizontal bar per label: orders by state."""
    chart = _chart(
        pygal.HorizontalBar,
        title,
        labels,
        height=40 + 28 * max(len(labels), 3),
        y_labels=whole_ticks(values),
    )
    chart.add(series, list(values))
    return _svg(chart)


def buckets(labels: Sequence[str], values: Sequence[int], title: str, series: str) -> Markup:
    """A bar per delivery-time bucket."""
    chart = _chart(pygal.Bar, title, labels, y_labels=whole_ticks(values))
    chart.add(series, list(values))
    return _svg(chart)
