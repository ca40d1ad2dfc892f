"""The command line (cli.py), run as a user would, against a SQLite file."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gated_delivery.checkout import start_attempt
from gated_delivery.cli import main
from gated_delivery.config import load_settings
from gated_delivery.models import PaymentAttempt
from gated_delivery.runtime import build_runtime


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GD_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    monkeypatch.setenv("GD_SANDBOX", "1")
    monkeypatch.setenv("PRIVATE_MEDIA_ROOT", str(tmp_path / "media"))
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    return runner


def run(cli: CliRunner, *args: str, ok: bool = True) -> str:
    result = cli.invoke(main, list(args))
    assert (result.exit_code == 0) is ok, result.output
    return result.output


def test_products_add_a_second_tier_and_list(cli: CliRunner, tmp_path: Path) -> None:
    guide = tmp_path / "guide.pdf"
    guide.write_bytes(b"%PDF-1.7 guide")
    run(
        cli,
        "products",
        "add",
        "guide",
        "--title",
        "Guide",
        "--amount",
        "5000",
        "--currency",
        "XOF",
        "--file",
        str(guide),
    )
    run(
        cli,
        "products",
        "add",
        "guide",
        "--title",
        "Guide",
        "--amount",
        "9000",
        "--currency",
        "xof",
        "--tier",
        "plus",
        "--label",
        "Plus",
    )
    run(
        cli,
        "products",
        "add",
        "kit",
        "--title",
        "Kit",
        "--amount",
        "12.50",
        "--currency",
        "EUR",
        "--review",
    )
    listing = run(cli, "products", "list")
    assert "guide: Guide" in listing
    assert "standard: standard — 5000 XOF" in listing
    assert "plus: Plus — 9000 XOF" in listing
    assert "kit: Kit [review]" in listing
    assert "12.50 EUR" in listing
    stored = list((tmp_path / "media" / "products").iterdir())
    assert [p.read_bytes() for p in stored] == [b"%PDF-1.7 guide"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--amount", "12.5", "--currency", "XOF"), "more decimals than XOF allows"),
        (("--amount", "5000", "--currency", "BTC"), "unsupported currency 'BTC'"),
        (("--amount", "0", "--currency", "XOF"), "a price must be positive"),
        (
            ("--amount", "5000", "--currency", "XOF", "--generator", "nope"),
            "no generator named 'nope'",
        ),
    ],
)
def test_bad_products_exit_non_zero_with_one_line(
    cli: CliRunner, args: tuple[str, ...], message: str
) -> None:
    output = run(cli, "products", "add", "x", "--title", "X", *args, ok=False)
    assert message in output
    assert output.count("\n") == 1
    assert "Traceback" not in output
    assert "no products yet" in run(cli, "products", "list")


def test_orders_create_and_show(cli: CliRunner) -> None:
    run(
        cli, "products", "add", "guide", "--title", "Guide", "--amount", "5000", "--currency", "XOF"
    )
    order_id = run(
        cli, "orders", "create", "--product", "guide", "--email", "awa@example.org", "--name", "Awa"
    ).strip()
    assert len(order_id) == 22
    shown = run(cli, "orders", "show", order_id)
    assert "payment: Unpaid   fulfilment: Received" in shown
    assert "order created →unpaid by operator" in shown
    data = json.loads(run(cli, "orders", "show", order_id, "--json"))
    assert (data["id"], data["payment"], data["buyer"]["email"]) == (
        order_id,
        "unpaid",
        "awa@example.org",
    )
    assert "no order 'nope'" in run(cli, "orders", "show", "nope", ok=False)
    assert "not a valid e-mail" in run(
        cli, "orders", "create", "--product", "guide", "--email", "x", ok=False
    )
    run(
        cli,
        "products",
        "add",
        "guide",
        "--title",
        "Guide",
        "--amount",
        "9000",
        "--currency",
        "XOF",
        "--tier",
        "plus",
    )
    assert "pass --tier" in run(
        cli, "orders", "create", "--product", "guide", "--email", "a@example.org", ok=False
    )


def test_reconcile_dry_run_changes_nothing(cli: CliRunner) -> None:
    run(
        cli, "products", "add", "guide", "--title", "Guide", "--amount", "5000", "--currency", "XOF"
    )
    order_id = run(
        cli, "orders", "create", "--product", "guide", "--email", "a@example.org"
    ).strip()

    async def start_and_age() -> None:
        rt = build_runtime(load_settings())
        try:
            started = await start_attempt(rt, order_id, "fake")
            async with rt.db.transaction() as session:
                attempt = await session.get(PaymentAttempt, started.attempt_id)
                assert attempt is not None
                attempt.created_at -= timedelta(hours=2)
        finally:
            await rt.close()

    async def states() -> list[str]:
        rt = build_runtime(load_settings())
        try:
            async with rt.db.transaction() as session:
                return [
                    s.value
                    for s in (await session.execute(sa.select(PaymentAttempt.state))).scalars()
                ]
        finally:
            await rt.close()

    asyncio.run(start_and_age())
    dry = run(cli, "reconcile", "--dry-run")
    assert "pending -> would apply expired" in dry
    assert dry.strip().endswith("would settle: 1 expired")
    assert asyncio.run(states()) == ["pending"]
    real = run(cli, "reconcile")
    assert "pending -> expired" in real
    assert asyncio.run(states()) == ["expired"]
    assert "ran 0 job(s)" in run(cli, "worker", "--once")


def test_missing_secret_key_outside_sandbox(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GD_SANDBOX")
    monkeypatch.delenv("GD_SECRET_KEY", raising=False)
    assert "GD_SECRET_KEY is not set" in run(cli, "products", "list", ok=False)


def test_serve_runs_the_sandbox_app(tmp_path: Path) -> None:
    """``gated-delivery serve --sandbox`` in its own process, as the demo starts it; a
    second one on the same port says so; with GD_LOG_FORMAT=json every line is JSON."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "GD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/serve.sqlite3",
        "GD_BASE_URL": f"http://127.0.0.1:{port}",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "media"),
        "GD_MAIL_DIR": str(tmp_path / "mail"),
        "GD_SANDBOX": "1",
        "GD_LOG_FORMAT": "json",
    }
    subprocess.run(
        [sys.executable, "-m", "gated_delivery.cli", "db", "upgrade"], env=env, check=True
    )
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gated_delivery.cli", "serve", "--sandbox", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        answer = None
        for _ in range(150):  # bounded: up to ~30 s for the process to start on a busy machine
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/sandbox/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None, "the server never answered"
        assert answer.status_code == 200
        assert "Bac à sable" in answer.text
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).text == "ok"
        second = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "gated_delivery.cli", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2
        assert (
            second.stderr
            == f"Error: port {port} is in use: stop the other program or pass --port\n"
        )
        assert second.stdout == ""
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    lines = errors.decode().splitlines()
    records = [json.loads(line) for line in lines]  # uvicorn's own lines too
    assert any(r["logger"] == "uvicorn.access" and "/readyz" in r["message"] for r in records)


def test_staff_create_user_then_set_password(cli: CliRunner) -> None:
    from gated_delivery import staff_accounts

    def log_in(password: str) -> bool:
        async def attempt() -> bool:
            rt = build_runtime(load_settings())
            try:
                result = await staff_accounts.log_in(rt, "lea@example.org", password, "127.0.0.1")
                return result.account is not None
            finally:
                await rt.close()

        return asyncio.run(attempt())

    created = cli.invoke(
        main, ["staff", "create-user", "Lea@example.org"], input="first pass 123\n"
    )
    assert created.exit_code == 0, created.output
    assert log_in("first pass 123")
    changed = cli.invoke(
        main, ["staff", "set-password", "lea@example.org"], input="second pass 456\n"
    )
    assert changed.exit_code == 0, changed.output
    assert "password of lea@example.org changed" in changed.output
    assert log_in("second pass 456")
    assert not log_in("first pass 123")
    missing = cli.invoke(main, ["staff", "set-password", "nobody@example.org"], input="x" * 12)
    assert missing.exit_code == 1
    assert "no staff account for nobody@example.org" in missing.output


def test_products_add_tells_the_file_type_by_content(cli: CliRunner, tmp_path: Path) -> None:
    elf = tmp_path / "guide.pdf"
    elf.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    refused = cli.invoke(
        main,
        ["products", "add", "guide", "--title", "G", "--amount", "5000", "--currency", "XOF",
         "--file", str(elf)],
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "file type not accepted" in refused.output
    assert "no products yet" in run(cli, "products", "list")  # nothing was written
    media = tmp_path / "media"
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]
    sheet = tmp_path / "tableau.pdf"  # a PNG under a PDF's name
    sheet.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    run(
        cli, "products", "add", "modele", "--title", "M", "--amount", "5000", "--currency", "XOF",
        "--file", str(sheet),
    )  # fmt: skip
    files = [p for p in (media / "products").rglob("*") if p.is_file()]
    assert len(files) == 1
    import sqlite3

    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        stored = conn.execute("SELECT media_type, filename FROM gd_asset").fetchall()
    assert stored == [("image/png", "tableau.png")]
    assert not [p for p in media.rglob("*") if p.is_file() and "staff-upload" in str(p)]


def test_orders_refund_refuses_an_unpaid_order_in_one_line(cli: CliRunner) -> None:
    run(
        cli, "products", "add", "guide", "--title", "Guide", "--amount", "5000", "--currency", "XOF"
    )
    order_id = run(cli, "orders", "create", "--product", "guide", "--email", "a@example.org")
    refused = run(cli, "orders", "refund", order_id.strip(), "--reason", "asked", ok=False)
    assert refused.strip() == f"Error: order {order_id.strip()} is unpaid, not paid"
    assert "--reason" in run(cli, "orders", "refund", order_id.strip(), ok=False)
    assert "payment: Unpaid" in run(cli, "orders", "show", order_id.strip())
