"""``gated-delivery webhooks ...`` (cli_webhooks.py), run as a user would, on a SQLite file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from standardwebhooks.webhooks import Webhook

from gated_delivery.cli import main
from gated_delivery.webhooks import signing


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


def test_add_list_rotate_disable_enable_remove(cli: CliRunner) -> None:
    out = run(
        cli,
        "webhooks",
        "add",
        "https://crm.example.org/hooks",
        "--events",
        "order.paid, order.refunded",
        "--description",
        "CRM",
    )
    endpoint_id = re.search(r"webhook endpoint (\w+) added for order.paid, order.refunded", out)
    secret = re.search(r"(whsec_\S+)", out)
    assert endpoint_id, out
    assert secret, out
    assert signing.secret_bytes(secret.group(1))  # a valid Standard Webhooks secret
    Webhook(secret.group(1))  # and the independent library accepts it
    listed = run(cli, "webhooks", "list")
    assert f"{endpoint_id.group(1)}  active  https://crm.example.org/hooks" in listed
    assert secret.group(1) not in listed  # shown once, never again
    rotated = run(cli, "webhooks", "rotate-secret", endpoint_id.group(1))
    new = re.search(r"(whsec_\S+)", rotated)
    assert new, rotated
    assert new.group(1) != secret.group(1)
    run(cli, "webhooks", "disable", endpoint_id.group(1))
    assert "disabled (disabled by cli:" in run(cli, "webhooks", "list")
    assert "already disabled" in run(cli, "webhooks", "disable", endpoint_id.group(1), ok=False)
    run(cli, "webhooks", "enable", endpoint_id.group(1))
    assert run(cli, "webhooks", "log", endpoint_id.group(1)) == ""
    run(cli, "webhooks", "remove", endpoint_id.group(1))
    assert run(cli, "webhooks", "list") == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["https://crm.example.org/h", "--events", "order.pied"],
            "unknown event type 'order.pied'",
        ),
        (["ftp://crm.example.org/h", "--events", "all"], "only https:// URLs"),
        (["https://u:p@crm.example.org/h", "--events", "all"], "user name or password"),
    ],
)
def test_add_refuses_bad_input_with_one_line(cli: CliRunner, args: list[str], message: str) -> None:
    out = run(cli, "webhooks", "add", *args, ok=False)
    assert message in out
    assert run(cli, "webhooks", "list") == ""


def test_send_again_needs_an_event_or_a_range(cli: CliRunner) -> None:
    out = run(cli, "webhooks", "add", "https://crm.example.org/h", "--events", "all")
    found = re.search(r"endpoint (\w+) added", out)
    assert found, out
    assert "either --event" in run(cli, "webhooks", "send-again", found.group(1), ok=False)
    assert "no webhook event 'evt_nope'" in run(
        cli, "webhooks", "send-again", found.group(1), "--event", "evt_nope", ok=False
    )
    assert "0 event(s) queued again" in run(
        cli, "webhooks", "send-again", found.group(1), "--since", "2026-01-01T00:00"
    )
    assert "no webhook endpoint 'nope'" in run(cli, "webhooks", "log", "nope", ok=False)


def test_staff_set_admin_grants_and_revokes(cli: CliRunner) -> None:
    created = cli.invoke(
        main, ["staff", "create-user", "lea@example.org"], input="a long password\n"
    )
    assert created.exit_code == 0, created.output
    assert "lea@example.org is now an admin" in run(cli, "staff", "set-admin", "Lea@Example.org")
    revoked = run(cli, "staff", "set-admin", "lea@example.org", "--revoke")
    assert "is no longer an admin" in revoked
    assert "no staff account for x@example.org" in run(
        cli, "staff", "set-admin", "x@example.org", ok=False
    )
