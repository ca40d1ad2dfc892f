"""Every task of the project: ``nox -s tests``, ``lint``, ``bench``, ``demo``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

#: Plugin distributions under plugins/, each with its own pyproject.toml and tests/.
PLUGINS = sorted(p for p in (ROOT / "plugins").glob("*") if (p / "pyproject.toml").exists())
#: The reference app, installed and tested like a plugin (never published).
KIT = ROOT / "examples" / "kit_complet"
#: Everything with its own pyproject.toml, tests/ and src/ beside the core.
PACKAGES = [*PLUGINS, KIT]


def _install_all(session: nox.Session) -> None:
    # one resolution, so the plugins' dependency on gated-delivery is this checkout
    extras = {ROOT: "testing,celery,stamping,sentry"}  # tests and bench of each extra
    editables = [
        arg for p in (ROOT, *PACKAGES) for arg in ("-e", f"{p}[{extras.get(p, 'testing')}]")
    ]
    session.install(*editables)


@nox.session
def tests(session: nox.Session) -> None:
    """Core and plugin tests: SQLite always, PostgreSQL when GD_TEST_DATABASE_URL is set."""
    _install_all(session)
    if not os.environ.get("GD_TEST_DATABASE_URL"):
        session.log("GD_TEST_DATABASE_URL is not set: PostgreSQL tests will be skipped")
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/migrations.sqlite3"}
        session.run("alembic", "upgrade", "head", env=env)
        session.run("alembic", "check", env=env)
    paths = ["tests", *(str(p / "tests") for p in PACKAGES if (p / "tests").exists())]
    session.run("pytest", *paths, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and mypy --strict on the core and each plugin."""
    _install_all(session)
    session.install("ruff", "mypy")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "--strict", "src/gated_delivery")
    for package in PACKAGES:
        session.run("mypy", "--strict", str(package / "src"))


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks; they print figures (PostgreSQL ones need GD_TEST_DATABASE_URL)."""
    _install_all(session)
    for script in sorted((ROOT / "bench").glob("*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Kit Complet in sandbox mode on 127.0.0.1:8000: database, products, a staff account."""
    _install_all(session)
    folder = ROOT / ".demo"
    folder.mkdir(exist_ok=True)
    env = {
        "GD_SANDBOX": "1",
        "GD_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/demo.sqlite3",
        "PRIVATE_MEDIA_ROOT": str(folder / "private-media"),
        "GD_MAIL_DIR": str(folder / "mail"),
        "GD_BASE_URL": "http://127.0.0.1:8000",
    }
    session.run("kit-complet", "demo", "--port", "8000", *session.posargs, env=env)
