"""``GET /metrics`` (metrics.py, web/metrics.py): guarded, and right across processes."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from gated_delivery.cli import main
from gated_delivery.config import CoreSettings
from gated_delivery.models import Order
from gated_delivery.testing import FakeProvider, FrozenClock, checkout, pay_with_fake
from gated_delivery.testing.pytest_plugin import TEST_SECRET_KEY

RunJobs = Callable[[], Awaitable[int]]
TOKEN = "scraper-token-for-the-tests-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(found: dict[tuple[str, Any], float], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(
        value
        for (sample, sample_labels), value in found.items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


@pytest.fixture
def gd_settings(gd_settings: CoreSettings) -> CoreSettings:
    """The test settings with /metrics on, behind a token."""
    return gd_settings.model_copy(update={"metrics": True, "metrics_token": SecretStr(TOKEN)})


async def test_metrics_need_the_token_and_count_from_the_database(
    gd_client: httpx.AsyncClient,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    gd_order: Order,
) -> None:
    assert (await gd_client.get("/metrics")).status_code == 403
    wrong = {"authorization": "Bearer not-the-token"}
    assert (await gd_client.get("/metrics", headers=wrong)).status_code == 403
    await pay_with_fake(gd_client, gd_fake_provider, gd_order.id, gd_run_jobs)
    scrape = await gd_client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    found = samples(scrape.text)
    assert total(found, "gd_orders", payment="paid") == 1
    assert total(found, "gd_payment_attempts", state="succeeded") == 1
    assert total(found, "gd_jobs", state="done") >= 1
    assert total(found, "gd_notification_to_paid_seconds_count") >= 1
    assert total(found, "gd_oldest_pending_payment_seconds") == 0  # none left pending
    assert TOKEN not in scrape.text


async def test_metrics_are_off_by_default(gd_runtime: Any) -> None:
    from gated_delivery.web.app import create_app

    runtime = gd_runtime
    runtime.settings = runtime.settings.model_copy(update={"metrics": False})
    transport = httpx.ASGITransport(app=create_app(runtime=runtime, run_worker=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/metrics")).status_code == 404


# --- several processes: the web app, and a worker of its own -----------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """``gated-delivery serve`` (no embedded worker) and ``gated-delivery worker``, running
    side by side on one SQLite file and one metrics folder; the CinetPay simulator of the
    web process stands in for the provider (the worker checks with it over loopback)."""
    pytest.importorskip("gated_delivery_cinetpay")
    port = _free_port()
    database = tmp_path / "shop.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GD_", "CINETPAY_", "OM_"))}
    env.update(
        GD_SANDBOX="1",
        GD_SECRET_KEY=TEST_SECRET_KEY,
        GD_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        GD_BASE_URL=f"http://127.0.0.1:{port}",
        PRIVATE_MEDIA_ROOT=str(tmp_path / "media"),
        GD_MAIL_DIR=str(tmp_path / "mail"),
        GD_EMBEDDED_WORKER="0",
        GD_METRICS="1",
        GD_METRICS_TOKEN=TOKEN,
        GD_JOB_MAX_ATTEMPTS="1",
        GD_SMTP_HOST="127.0.0.1",  # nobody listens there: every mail job dies
        GD_SMTP_PORT=str(_free_port()),
        GD_RECONCILE_EVERY_MINUTES="0",
        GD_WORKER_POLL_SECONDS="0.2",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    (tmp_path / "prometheus").mkdir()
    guide = tmp_path / "guide.pdf"
    guide.write_bytes(b"%PDF-1.7\nguide\n")
    cli_env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    for args in (
        ["db", "upgrade"],
        ["products", "add", "guide", "--title", "Guide", "--amount", "5000", "--currency", "XOF",
         "--tier", "std", "--file", str(guide)],
    ):  # fmt: skip
        result = CliRunner().invoke(main, args, env=cli_env)
        assert result.exit_code == 0, result.output
    command = [sys.executable, "-m", "gated_delivery.cli"]
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*command, *args],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"{args[0]}.log").open("w"),
        )
        for args in (["serve", "--port", str(port)], ["worker"])
    ]
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):  # bounded: up to ~60 s on a busy machine
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail((tmp_path / "serve.log").read_text())
        yield url, env, database
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _count(database: Path, query: str) -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute(query).fetchone()[0])


def test_a_scrape_matches_the_database_with_a_separate_worker(
    shop: tuple[str, dict[str, str], Path],
) -> None:
    url, _env, database = shop
    outcomes = ["SUCCESS", "SUCCESS", "SUCCESS", "FAILED", "SUCCESS"]
    with httpx.Client(base_url=url, timeout=30) as client:
        for i, outcome in enumerate(outcomes):  # a small load, one buyer after another
            bought = client.post(
                "/buy/guide/std", data={"email": f"b{i}@example.org", "name": "Awa Diallo"}
            )
            order_id = bought.headers["location"].rsplit("/", 1)[1]
            started = client.post(f"/checkout/{order_id}/cinetpay")
            assert started.status_code == 303, started.text
            with sqlite3.connect(database) as conn:
                (attempt_id,) = conn.execute(
                    "SELECT id FROM gd_payment_attempt WHERE order_id = ?", (order_id,)
                ).fetchone()
            settled = client.post(
                f"/sandbox/cinetpay/control/{attempt_id}", data={"outcome": outcome}
            )
            assert settled.status_code == 200, settled.text
        for _ in range(300):  # until the worker has run everything (bounded)
            busy = _count(
                database, "SELECT count(*) FROM gd_job WHERE state IN ('pending', 'running')"
            )
            if not busy:
                break
            time.sleep(0.2)
        assert not busy, "the worker did not finish the jobs"
        scrape = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert scrape.status_code == 200
    found = samples(scrape.text)
    paid = _count(database, "SELECT count(*) FROM gd_order WHERE payment_status = 'paid'")
    dead = _count(database, "SELECT count(*) FROM gd_job WHERE state = 'dead'")
    assert paid == outcomes.count("SUCCESS")
    assert dead > 0  # the mails, with no SMTP server
    assert total(found, "gd_orders", payment="paid") == paid
    assert total(found, "gd_jobs", state="dead") == dead
    # counted by the worker process, shown by the web process
    assert total(found, "gd_job_runs_total", outcome="dead") == dead
    assert total(found, "gd_mails_total", outcome="failed") == dead
    assert total(found, "gd_provider_checks_total", provider="cinetpay") >= len(outcomes)
    # counted by the web process
    assert total(found, "gd_notifications_total", provider="cinetpay", outcome="new") == len(
        outcomes
    )
    assert total(found, "gd_notification_to_paid_seconds_count") == paid


async def test_the_oldest_pending_payment_shows_its_age(
    gd_client: httpx.AsyncClient, gd_clock: FrozenClock, gd_order: Order
) -> None:
    await checkout(gd_client, gd_order.id)  # the buyer never comes back
    gd_clock.advance(timedelta(hours=2))
    scrape = await gd_client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    found = samples(scrape.text)
    assert total(found, "gd_oldest_pending_payment_seconds") == 7200
    assert total(found, "gd_payment_attempts", state="pending") == 1
