"""The go-live checks (golive.py) and ``gated-delivery check`` (cli_check.py)."""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from gated_delivery.cli import main
from gated_delivery.config import CoreSettings
from gated_delivery.golive import (
    SEEN_RECENTLY,
    Level,
    is_public,
    runtime_findings,
    settings_findings,
)
from gated_delivery.heartbeats import Beater, Kind
from gated_delivery.models import Job, JobState, Order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, FrozenClock, pay_with_fake
from gated_delivery.testing.pytest_plugin import TEST_SECRET_KEY
from gated_delivery.webhooks import endpoints

RunJobs = Callable[[], Awaitable[int]]


class Accepting:
    """An SMTP server that takes everything."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802 - aiosmtpd's name
        return "250 OK"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    """A real SMTP server on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(Accepting(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def gd_settings(gd_settings: CoreSettings, smtp_port: int, tmp_path: Path) -> CoreSettings:
    """A production-like configuration; the fake provider stands in for a real one."""
    media = tmp_path / "private"
    media.mkdir(mode=0o700)
    return gd_settings.model_copy(
        update={
            "base_url": "https://shop.example.com",
            "private_media_root": media,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_starttls": False,
            "reconcile_every_minutes": 5,
        }
    )


def levels(findings: list[object]) -> dict[str, Level]:
    return {f.item: f.level for f in findings}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example.com", ""),
        ("http://shop.example.com", "not https"),
        ("https://localhost:8000", "local host"),
        ("https://shop.local", "local host"),
        ("https://192.168.1.10", "private address"),
        ("https://127.0.0.1", "private address"),
        ("https://8.8.8.8", ""),
    ],
)
def test_public_urls(url: str, expected: str) -> None:
    problem = is_public(url)
    assert (expected in problem) if expected else problem == ""


async def test_a_good_configuration_passes(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    gd_order: Order,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    await pay_with_fake(gd_client, gd_fake_provider, gd_order.id, gd_run_jobs)  # a job ran
    findings = settings_findings(gd_runtime.settings) + await runtime_findings(gd_runtime)
    assert levels(findings) == {
        "secret key": Level.PASS,
        "sandbox off": Level.PASS,
        "base URL": Level.PASS,
        "storage": Level.PASS,
        "reconciler": Level.PASS,
        "secrets": Level.PASS,
        "migrations": Level.PASS,
        "worker": Level.PASS,
        "webhooks": Level.PASS,
        "fake URLs": Level.PASS,
        "fake credentials": Level.PASS,
        "mail": Level.WARN,  # this test server has no TLS
    }
    [urls] = [f for f in findings if f.item == "fake URLs"]
    assert "https://shop.example.com/payments/fake/notify" in urls.detail


async def test_the_running_parts_fail_with_their_fix(
    gd_runtime: Runtime, gd_fake_provider: FakeProvider, gd_clock: FrozenClock
) -> None:
    gd_fake_provider.is_down = True
    async with gd_runtime.db.transaction() as session:
        session.add(
            Job(
                kind="mail",
                payload={},
                state=JobState.PENDING,
                max_attempts=1,
                run_after=gd_clock.now(),
                created_at=gd_clock.now(),
            )
        )
    gd_clock.advance(timedelta(minutes=30))
    bad = settings_findings(gd_runtime.settings)
    bad = {f.item: f for f in await runtime_findings(gd_runtime)}
    assert bad["fake credentials"].level is Level.FAIL
    assert "unreachable" in bad["fake credentials"].detail
    assert bad["worker"].level is Level.FAIL
    assert "gated-delivery worker" in bad["worker"].fix


async def worker_finding(rt: Runtime) -> tuple[Level, str, str]:
    (found,) = [f for f in await runtime_findings(rt) if f.item == "worker"]
    return found.level, found.detail, found.fix


async def test_a_worker_that_beat_lately_passes_and_a_stale_one_fails(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    level, detail, fix = await worker_finding(gd_runtime)
    assert (level, detail) == (Level.FAIL, "no worker has ever run here")
    assert "gated-delivery worker" in fix
    await Beater(gd_runtime, Kind.WORKER, "host:1").beat()
    gd_clock.advance(SEEN_RECENTLY)
    level, detail, _fix = await worker_finding(gd_runtime)
    assert level is Level.PASS
    assert detail.startswith("seen lately: a worker at ")
    gd_clock.advance(seconds=1)
    level, detail, fix = await worker_finding(gd_runtime)
    assert level is Level.FAIL
    assert detail.startswith("no worker seen since ")
    assert "nobody runs the jobs" in detail
    assert "gated-delivery worker" in fix


async def test_with_celery_both_the_relay_and_a_celery_worker_must_beat(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(update={"job_backend": "celery"})
    await Beater(gd_runtime, Kind.WORKER, "host:1").beat()  # not what runs Celery's jobs
    await Beater(gd_runtime, Kind.RELAY, "host:2").beat()
    level, detail, fix = await worker_finding(gd_runtime)
    assert (level, detail) == (Level.FAIL, "no celery has ever run here")
    assert fix == "run `celery -A gated_delivery.jobs.celery_backend worker`"
    await Beater(gd_runtime, Kind.CELERY, "host:3").beat()
    assert (await worker_finding(gd_runtime))[0] is Level.PASS
    gd_clock.advance(SEEN_RECENTLY + timedelta(seconds=1))
    await Beater(gd_runtime, Kind.CELERY, "host:3", every=timedelta(0)).beat()
    level, detail, fix = await worker_finding(gd_runtime)
    assert (level, detail.split(" since")[0]) == (Level.FAIL, "no relay seen")
    assert "gated-delivery worker --relay" in fix


async def webhooks_finding(rt: Runtime) -> tuple[Level, str, str]:
    (found,) = [f for f in await runtime_findings(rt) if f.item == "webhooks"]
    return found.level, found.detail, found.fix


async def test_a_disabled_webhook_endpoint_warns_with_the_command_to_enable_it(
    gd_runtime: Runtime,
) -> None:
    assert (await webhooks_finding(gd_runtime))[0] is Level.PASS
    await endpoints.add(gd_runtime, "https://crm.example.com/a", ["all"], actor="test")
    second, _secret = await endpoints.add(
        gd_runtime, "https://crm.example.com/b", ["all"], actor="test"
    )
    level, detail, _fix = await webhooks_finding(gd_runtime)
    assert (level, detail) == (Level.PASS, "2 endpoint(s), all active")
    await endpoints.disable(gd_runtime, second.id, actor="ops")
    level, detail, fix = await webhooks_finding(gd_runtime)
    assert level is Level.WARN
    assert detail == "1 of 2 endpoint(s) disabled; https://crm.example.com/b: disabled by ops"
    assert f"gated-delivery webhooks enable {second.id}" in fix


def test_check_lists_each_problem_with_its_fix_and_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "media").mkdir(mode=0o755)
    env = {
        "GD_SECRET_KEY": "too-short",
        "GD_BASE_URL": "http://localhost:8000",
        "GD_SANDBOX": "1",
        "GD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/empty.sqlite3",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "media"),
        "GD_RECONCILE_EVERY_MINUTES": "0",
        "GD_SMTP_HOST": "",
    }
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 1, result.output
    out = result.output
    for problem, fix in [
        ("GD_SECRET_KEY is too short", "secrets.token_urlsafe(48)"),
        ("GD_SANDBOX is on", "unset GD_SANDBOX"),
        ("http://localhost:8000 is not https", "public https address"),
        ("readable by other users", "chmod 700"),
        ("GD_RECONCILE_EVERY_MINUTES=0", "from cron"),
        ("has no migration applied", "gated-delivery db upgrade"),
        ("not sent", "set GD_SMTP_HOST"),
        ("fake URLs", "public https address"),
    ]:
        assert problem in out, f"{problem!r} missing:\n{out}"
        assert fix in out, f"{fix!r} missing:\n{out}"
    assert "not ready to go live" in out
    as_json = CliRunner().invoke(main, ["check", "--json"], env=env)
    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert report["ok"] is False
    assert {f["item"] for f in report["findings"] if f["level"] == "fail"} >= {
        "secret key",
        "sandbox off",
        "base URL",
        "reconciler",
        "migrations",
        "mail",
    }
    assert TEST_SECRET_KEY not in as_json.output


def test_check_reports_a_plugin_it_cannot_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {
        "GD_SECRET_KEY": TEST_SECRET_KEY,
        "GD_BASE_URL": "https://shop.example.com",
        "GD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/empty.sqlite3",
        "GD_STORAGE": "nowhere",
    }
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 1
    assert "FAIL  plugins" in result.output
    assert "no storage backend named 'nowhere'" in result.output
