"""The app's Jinja2 templates (autoescaped) and the filters they use."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from gated_delivery.api import Money

#: A narrow no-break space: what French typography puts between thousands.
THIN_SPACE: Final = "\u202f"


def price(money: Money) -> str:
    """``150 000 XOF``: the amount grouped by thousands, French style, then the currency."""
    whole, _, fraction = money.major_str().partition(".")
    grouped = f"{int(whole):,}".replace(",", THIN_SPACE)
    return f"{grouped},{fraction} {money.currency}" if fraction else f"{grouped} {money.currency}"


def _page_context(request: Request) -> dict[str, Any]:
    # the header links to the sandbox pages only when they are mounted
    return {"sandbox_nav": bool(request.app.state.gd.settings.sandbox)}


templates = Jinja2Templates(
    directory=str(Path(__file__).parent / "templates"), context_processors=[_page_context]
)
templates.env.filters["price"] = price
