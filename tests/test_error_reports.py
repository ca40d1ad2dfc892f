"""Error reports (error_reports.py) with the real sentry-sdk, sent to a capture server on
loopback that stands in for Sentry's ingest: a dead job and a 500, tagged, scrubbed."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from gated_delivery import error_reports
from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import hookimpl
from gated_delivery.models import Job, JobState, Order
from gated_delivery.orders import create_order
from gated_delivery.plugin_protocols import MailTransport
from gated_delivery.plugin_types import PaymentRequest, PaymentStart
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, pay_with_fake
from gated_delivery.testing.plugin_objects import ProviderPlugin
from gated_delivery.testing.pytest_plugin import TEST_SECRET_KEY

RunJobs = Callable[[], Awaitable[int]]
SMTP_PASSWORD = "smtp-password-never-sent-anywhere"


@dataclass
class Capture:
    """What the stand-in ingest received: each envelope, decompressed."""

    envelopes: list[bytes] = field(default_factory=list)

    def events(self) -> list[dict[str, Any]]:
        """The event items of every envelope."""
        found = []
        for envelope in self.envelopes:
            lines = envelope.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


@pytest.fixture
def capture() -> Iterator[tuple[Capture, int]]:
    """An HTTP server on an ephemeral loopback port that keeps every envelope posted."""
    got = Capture()

    class Ingest(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            encoding = self.headers.get("content-encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "br":
                import brotli

                body = brotli.decompress(body)
            got.envelopes.append(body)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got, server.server_address[1]
    server.shutdown()
    server.server_close()


class RefusingMail:
    """A mail server that refuses, quoting the recipient and its password as some do."""

    async def send(self, message: EmailMessage) -> None:
        raise ConnectionError(f"550 {message['To']} refused; login {SMTP_PASSWORD} expired")


class RefusingMailPlugin:
    """Offers ``RefusingMail``."""

    @hookimpl
    def mail_transport(self, settings: CoreSettings) -> MailTransport:
        """The refusing transport, whatever the settings."""
        return RefusingMail()


class CrashingProvider(FakeProvider):
    """A provider whose start fails with a bug that quotes the buyer."""

    async def start_payment(self, request: PaymentRequest) -> PaymentStart:
        raise RuntimeError(f"bug while starting for {request.buyer_email} ({TEST_SECRET_KEY})")


@pytest.fixture
def gd_plugins(gd_fake_provider: FakeProvider) -> list[object]:
    """The fake provider, one that crashes, and a mail server that refuses."""
    crashing = CrashingProvider(secret=b"crash-secret-value", name="crashing")
    return [ProviderPlugin(gd_fake_provider, crashing), RefusingMailPlugin()]


@pytest.fixture
def gd_settings(gd_settings: CoreSettings, capture: tuple[Capture, int]) -> Iterator[CoreSettings]:
    """The test settings, reporting to the capture server, each job tried once."""
    yield gd_settings.model_copy(
        update={
            "sentry_dsn": SecretStr(f"http://publickey@127.0.0.1:{capture[1]}/42"),
            "smtp_password": SecretStr(SMTP_PASSWORD),
            "job_max_attempts": 1,
        }
    )
    error_reports.stop()


async def test_a_dead_job_and_a_500_are_reported_with_ids_and_no_secret(
    gd_client: httpx.AsyncClient,
    gd_app: Any,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    gd_order: Order,
    capture: tuple[Capture, int],
) -> None:
    await pay_with_fake(gd_client, gd_fake_provider, gd_order.id, gd_run_jobs)
    async with gd_runtime.db.transaction() as session:
        dead = (
            await session.execute(sa.select(Job).where(Job.state == JobState.DEAD))
        ).scalar_one()
    assert dead.kind == "mail"
    async with gd_runtime.db.transaction() as session:
        other = await create_order(
            session, product_slug="guide", tier_id="std", buyer_email="awa@example.org",
            now=gd_runtime.clock.now(),
        )  # fmt: skip
    transport = httpx.ASGITransport(app=gd_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        crashed = await client.post(f"/checkout/{other.id}/crashing")
    assert crashed.status_code == 500
    error_reports.stop()  # sends what is queued

    got, _port = capture
    events = got.events()
    by_tags = {(e["tags"].get("job_kind"), e["tags"].get("route")): e for e in events}
    job_event = by_tags[("mail", None)]
    assert job_event["tags"]["order_id"] == gd_order.id
    assert job_event["tags"]["job_id"] == str(dead.id)
    assert job_event["exception"]["values"][-1]["type"] == "ConnectionError"
    page_event = by_tags[(None, "/checkout/{order_id}/{provider}")]
    assert page_event["tags"]["order_id"] == other.id
    assert page_event["tags"]["provider"] == "crashing"
    assert page_event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert len(events) == 2
    raw = b"\n".join(got.envelopes).decode()
    for secret in (TEST_SECRET_KEY, SMTP_PASSWORD, "awa@example.org", "fake-provider-test-secret"):
        assert secret not in raw, f"{secret!r} was sent"
    assert "[redacted]" in raw  # the messages were there, scrubbed
