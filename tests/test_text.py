"""Control characters: refused in what people type, escaped in what the CLI prints."""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys

import pytest
import sqlalchemy as sa

from gated_delivery.errors import InvalidInput
from gated_delivery.models import Order
from gated_delivery.orders import check_email, create_order
from gated_delivery.runtime import Runtime
from gated_delivery.text import check_multi_line, check_single_line, terminal_safe

HOSTILE = "Awa \x1b[31m\x1b]0;owned\x07 \u202eevil\u202c \x9b2J"


@pytest.mark.parametrize("char", ["\x1b", "\x00", "\x7f", "\x9b", "\u202e", "\u2066", "\n"])
def test_single_line_text_refuses_control_and_bidi_characters(char: str) -> None:
    with pytest.raises(InvalidInput, match=f"U\\+{ord(char):04X}"):
        check_single_line(f"Awa{char}Diop", field="name")


def test_multi_line_text_keeps_line_breaks_only() -> None:
    assert check_multi_line("ligne 1\r\nligne 2\tfin") == "ligne 1\r\nligne 2\tfin"
    with pytest.raises(InvalidInput):
        check_multi_line("ligne 1\n\x1b[2J")
    assert check_single_line("Aïssatou N'Diaye — Thiès") == "Aïssatou N'Diaye — Thiès"


def test_terminal_safe_shows_every_unsafe_character_escaped() -> None:
    shown = terminal_safe(HOSTILE)
    assert not any(c in shown for c in "\x1b\x07\x9b\u202e\u202c")
    assert "\\x1b[31m" in shown
    assert "\\u202e" in shown
    assert "\\x9b" in shown


@pytest.mark.parametrize(
    "email", ["awa\x1b@example.org", "awa@exa mple.org", "awa@@example.org", "a..b@example.org"]
)
def test_bad_addresses_are_refused(email: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_email(email)
    assert "\x1b" not in str(refused.value)


def test_good_addresses_are_kept_as_typed() -> None:
    assert check_email("  Awa@Example.ORG ") == "Awa@Example.ORG"
    assert check_email("awa@exemple.sn") == "awa@exemple.sn"


async def test_an_order_with_a_hostile_name_is_refused(
    gd_runtime: Runtime, gd_product: object
) -> None:
    async with gd_runtime.db.transaction() as session:
        with pytest.raises(InvalidInput) as refused:
            await create_order(
                session,
                product_slug="guide",
                tier_id="std",
                buyer_email="awa@example.org",
                buyer_name=HOSTILE,
                now=gd_runtime.clock.now(),
            )
    assert refused.value.field == "name"
    async with gd_runtime.db.transaction() as session:
        with pytest.raises(InvalidInput):
            await create_order(
                session,
                product_slug="guide",
                tier_id="std",
                buyer_email="awa@example.org",
                answers={"company": "ACME\u202e"},
                now=gd_runtime.clock.now(),
            )


def _show_in_a_terminal(database_url: str, order_id: str, *extra: str) -> bytes:
    """``gated-delivery orders show`` with its output on a pseudo-terminal; what it wrote."""
    main, child = pty.openpty()
    env = {**os.environ, "GD_DATABASE_URL": database_url, "GD_SANDBOX": "1"}
    process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "gated_delivery.cli", "orders", "show", order_id, *extra],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
    )
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed its side
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert process.wait(timeout=60) == 0, output
    return output


async def test_orders_show_escapes_an_older_orders_hostile_bytes(
    gd_runtime: Runtime, gd_order: Order, gd_backend: str
) -> None:
    if gd_backend != "sqlite":
        pytest.skip("one backend is enough for the terminal output")
    # an order stored before names were checked: written straight to the table
    async with gd_runtime.db.transaction() as session:
        await session.execute(
            sa.update(Order)
            .where(Order.id == gd_order.id)
            .values(buyer_name=HOSTILE, answers={"note": HOSTILE})
        )
    url = gd_runtime.settings.database_url
    for extra in ((), ("--json",)):
        output = await asyncio.to_thread(_show_in_a_terminal, url, gd_order.id, *extra)
        text = output.decode("utf-8")
        assert not any(c in text for c in "\x1b\x07\x9b\u202e\u202c"), text
        assert "owned" in text
        assert ("\\x1b" in text) if not extra else ("\\u001b" in text)
