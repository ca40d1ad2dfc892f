"""The ``kit-complet`` command (cli.py), run as a user would against a SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from kit_complet.cli import main


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("GD_PROMPT_PATH", "GD_DOCX_TEMPLATE", "GD_ORDER_PAGE", "GD_DISABLED_PLUGINS"):
        # the commands set these in os.environ: setting first has monkeypatch undo that too
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GD_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/kit.sqlite3")
    monkeypatch.setenv("PRIVATE_MEDIA_ROOT", str(tmp_path / "media"))
    monkeypatch.setenv("GD_MAIL_DIR", str(tmp_path / "mail"))
    return CliRunner()


def test_seed_adds_the_products_once(runner: CliRunner, tmp_path: Path) -> None:
    first = runner.invoke(main, ["seed", "--sandbox"])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        "kit-complet/standard: 150000 XOF",
        "kit-complet/sur-site: 350000 XOF",
        "guide-audit/pdf: 15000 XOF",
        "guide-audit: fichier guide-audit-associatif.pdf",
    ]
    assert len(list((tmp_path / "media" / "products").iterdir())) == 1
    again = runner.invoke(main, ["seed", "--sandbox"])
    assert again.output.strip() == "rien à ajouter"
    assert len(list((tmp_path / "media" / "products").iterdir())) == 1


def test_outside_sandbox_a_missing_secret_key_is_named(runner: CliRunner) -> None:
    result = runner.invoke(main, ["seed"])
    assert result.exit_code == 1
    assert "GD_SECRET_KEY" in result.output


def test_the_core_commands_run_with_the_apps_defaults(runner: CliRunner) -> None:
    assert runner.invoke(main, ["seed", "--sandbox"]).exit_code == 0
    result = runner.invoke(main, ["worker", "--once"], env={"GD_SANDBOX": "1"})
    assert result.exit_code == 0, result.output
    assert "ran 0 job(s)" in result.output
    assert os.environ["GD_ORDER_PAGE"] == "/commande/{order_id}"
    assert os.environ["GD_DOCX_TEMPLATE"].endswith("modele_kit_complet.docx")
