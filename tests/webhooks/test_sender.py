"""Delivering events (webhooks/sender.py): signatures, retries, the log, disabling."""

from __future__ import annotations

import email
import email.policy
import json
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gated_delivery.models import (
    AuditEvent,
    Job,
    JobState,
    Order,
    Product,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookEvent,
)
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FrozenClock
from gated_delivery.testing.webhook_receiver import Receiver, serve_receiver
from gated_delivery.webhooks import endpoints
from gated_delivery.webhooks.emit import RETRY_DELAYS_SECONDS
from gated_delivery.webhooks.sender import DISABLE_AFTER, post

RunJobs = Callable[[], Awaitable[int]]
Endpoint = tuple[WebhookEndpoint, str]


async def new_order(rt: Runtime, product: Product) -> Order:
    async with rt.db.transaction() as session:
        return await create_order(
            session,
            product_slug=product.slug,
            tier_id="std",
            buyer_email="awa@example.org",
            buyer_name="Awa",
            now=rt.clock.now(),
        )


async def log(rt: Runtime, endpoint_id: str) -> list[WebhookAttempt]:
    async with rt.db.transaction() as session:
        found = await session.execute(
            sa.select(WebhookAttempt)
            .where(WebhookAttempt.endpoint_id == endpoint_id)
            .order_by(WebhookAttempt.id)
        )
        return list(found.scalars())


async def jobs(rt: Runtime) -> list[Job]:
    async with rt.db.transaction() as session:
        found = await session.execute(sa.select(Job).where(Job.kind == "webhook").order_by(Job.id))
        return list(found.scalars())


async def test_an_event_is_signed_as_standard_webhooks_verify_it(
    gd_runtime: Runtime,
    gd_product: Product,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
    endpoint: Endpoint,
) -> None:
    _endpoint, secret = endpoint
    order = await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    (got,) = receiver.received
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "order.created"
    assert payload["id"] == got.headers["webhook-id"]
    assert payload["data"]["order_id"] == order.id
    assert payload["data"]["amount_minor"] == 5000
    assert "buyer" not in payload["data"]  # no personal data unless asked for
    assert b"awa@example.org" not in got.body
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(got.body.replace(b"5000", b"5001"), got.headers)
    other = Webhook("whsec_" + "QUJD" * 8)
    with pytest.raises(WebhookVerificationError):
        other.verify(got.body, got.headers)


async def test_an_old_timestamp_fails_verification(
    gd_runtime: Runtime,
    gd_clock: FrozenClock,
    gd_product: Product,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
    endpoint: Endpoint,
) -> None:
    gd_clock.advance(minutes=-10)  # the sender's clock says the message left ten minutes ago
    await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    (got,) = receiver.received
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(endpoint[1]).verify(got.body, got.headers)


async def test_the_buyer_goes_only_to_an_endpoint_that_asked(
    gd_runtime: Runtime, gd_product: Product, gd_run_jobs: RunJobs, receiver: Receiver
) -> None:
    await endpoints.add(
        gd_runtime, receiver.url, ["order.created"], actor="test", include_buyer=True
    )
    await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    (got,) = receiver.received
    assert json.loads(got.body)["data"]["buyer"] == {"name": "Awa", "email": "awa@example.org"}


async def test_500_twice_then_200_is_received_three_times_on_the_schedule(
    gd_runtime: Runtime,
    gd_clock: FrozenClock,
    gd_product: Product,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
    endpoint: Endpoint,
) -> None:
    receiver.script = [500, 500, 200]
    start = gd_clock.now()
    await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    await gd_run_jobs()  # not due yet: nothing is sent before its time
    assert len(receiver.received) == 1
    gd_clock.advance(seconds=RETRY_DELAYS_SECONDS[0])
    await gd_run_jobs()
    gd_clock.advance(seconds=RETRY_DELAYS_SECONDS[1])
    await gd_run_jobs()
    assert len(receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    lines = await log(gd_runtime, endpoint[0].id)
    assert [line.attempt for line in lines] == [1, 2, 3]
    assert [line.status_code for line in lines] == [500, 500, 200]
    assert [line.attempted_at - start for line in lines] == [
        timedelta(0),
        timedelta(seconds=5),
        timedelta(seconds=305),
    ]
    assert lines[0].response_head.startswith("answer 500 ")
    assert len(lines[0].response_head) == 200
    (job,) = await jobs(gd_runtime)
    assert job.state is JobState.DONE


async def test_a_400_is_not_tried_again(
    gd_runtime: Runtime,
    gd_clock: FrozenClock,
    gd_product: Product,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
    endpoint: Endpoint,
) -> None:
    receiver.script = [400]
    await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    gd_clock.advance(hours=30)
    await gd_run_jobs()
    assert len(receiver.received) == 1
    (job,) = await jobs(gd_runtime)
    assert job.state is JobState.DEAD
    assert "HTTP 400; not tried again" in job.last_error


async def test_429_and_a_timeout_are_tried_again(
    gd_runtime: Runtime,
    gd_clock: FrozenClock,
    gd_product: Product,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
    endpoint: Endpoint,
) -> None:
    receiver.script = [429, None, 204]
    await new_order(gd_runtime, gd_product)
    for delay in (0, *RETRY_DELAYS_SECONDS[:2]):
        gd_clock.advance(seconds=delay)
        await gd_run_jobs()
    lines = await log(gd_runtime, endpoint[0].id)
    assert [line.status_code for line in lines] == [429, None, 204]
    assert lines[1].error == "no answer within 1 s"


def mails(rt: Runtime) -> list[email.message.EmailMessage]:
    found = [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        for f in sorted(rt.settings.mail_dir.glob("*.eml"))
    ]
    return [m for m in found if "Webhook" in str(m["Subject"])]  # type: ignore[misc]


async def disabled_audits(rt: Runtime, endpoint_id: str) -> list[AuditEvent]:
    async with rt.db.transaction() as session:
        found = await session.execute(
            sa.select(AuditEvent).where(
                AuditEvent.machine == "webhook endpoint",
                AuditEvent.subject_id == endpoint_id,
                AuditEvent.event == "disabled",
            )
        )
        return list(found.scalars())


async def run_the_schedule(clock: FrozenClock, run_jobs: RunJobs) -> None:
    for delay in (0, *RETRY_DELAYS_SECONDS):
        clock.advance(seconds=delay)
        await run_jobs()


async def test_a_receiver_down_for_the_whole_schedule_ends_disabled_with_the_staff_mail(
    gd_runtime: Runtime,
    gd_clock: FrozenClock,
    gd_product: Product,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
    endpoint: Endpoint,
) -> None:
    receiver.script = [503] * 100
    start = gd_clock.now()
    await new_order(gd_runtime, gd_product)
    await new_order(gd_runtime, gd_product)  # its last try comes once the first disabled it
    await run_the_schedule(gd_clock, gd_run_jobs)
    assert len(receiver.of_type("order.created")) == 8 + 7  # the whole schedule, then no more
    assert [job.state for job in await jobs(gd_runtime)] == [JobState.DEAD, JobState.DONE]
    lines = await log(gd_runtime, endpoint[0].id)
    assert [line.error for line in lines if line.status_code is None] == ["endpoint disabled"]
    disabled = await endpoints.get(gd_runtime, endpoint[0].id)
    assert not disabled.is_active
    assert f"every delivery failed since {start:%Y-%m-%d %H:%M} UTC" in disabled.disabled_reason
    assert "failed all 8 scheduled tries" in disabled.disabled_reason
    (audit_line,) = await disabled_audits(gd_runtime, endpoint[0].id)
    assert audit_line.reason == disabled.disabled_reason
    async with gd_runtime.db.transaction() as session:
        notices = await session.execute(
            sa.select(sa.func.count()).where(Job.kind == "webhook_disabled_notice")
        )
        assert notices.scalar_one() == 1
    (notice,) = mails(gd_runtime)
    assert notice["To"] == "ops@example.org"
    assert receiver.url in str(notice["Subject"])
    assert "gated-delivery webhooks enable" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # a new event is not queued for a disabled endpoint
    queued = len(await jobs(gd_runtime))
    await new_order(gd_runtime, gd_product)
    assert len(await jobs(gd_runtime)) == queued


async def test_a_400_for_every_try_does_not_disable_at_once(
    gd_runtime: Runtime,
    gd_product: Product,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
    endpoint: Endpoint,
) -> None:
    receiver.script = [400]
    await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    (job,) = await jobs(gd_runtime)
    assert job.state is JobState.DEAD  # given up at once, not tried on the schedule
    assert (await endpoints.get(gd_runtime, endpoint[0].id)).is_active
    assert await disabled_audits(gd_runtime, endpoint[0].id) == []


async def test_an_endpoint_that_succeeded_lately_stays_active_until_five_days_of_failures(
    gd_runtime: Runtime,
    gd_clock: FrozenClock,
    gd_product: Product,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
    endpoint: Endpoint,
) -> None:
    receiver.script = [200] + [503] * 100
    await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    gd_clock.advance(hours=1)
    start = gd_clock.now()
    await new_order(gd_runtime, gd_product)
    await run_the_schedule(gd_clock, gd_run_jobs)
    assert len(receiver.of_type("order.created")) == 9
    assert [job.state for job in await jobs(gd_runtime)] == [JobState.DONE, JobState.DEAD]
    assert (await endpoints.get(gd_runtime, endpoint[0].id)).is_active  # it worked 28 h ago
    # later events keep failing; the first failure five days back disables the endpoint
    gd_clock.advance(start + DISABLE_AFTER - timedelta(minutes=1) - gd_clock.now())
    await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    assert (await endpoints.get(gd_runtime, endpoint[0].id)).is_active
    gd_clock.advance(minutes=1)
    await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    disabled = await endpoints.get(gd_runtime, endpoint[0].id)
    assert not disabled.is_active
    assert f"every delivery failed since {start:%Y-%m-%d %H:%M} UTC" in disabled.disabled_reason
    assert len(await disabled_audits(gd_runtime, endpoint[0].id)) == 1
    assert len(mails(gd_runtime)) == 1
    # a pending retry is logged and dropped, and disables nothing twice
    sent = len(receiver.received)
    gd_clock.advance(hours=30)
    await gd_run_jobs()
    assert len(receiver.received) == sent
    lines = await log(gd_runtime, endpoint[0].id)
    assert {line.error for line in lines if line.status_code is None} == {"endpoint disabled"}
    assert len(await disabled_audits(gd_runtime, endpoint[0].id)) == 1
    assert len(mails(gd_runtime)) == 1


async def test_a_refused_address_is_logged_and_not_tried_again(
    gd_runtime: Runtime, gd_product: Product, gd_run_jobs: RunJobs
) -> None:
    settings = gd_runtime.settings.model_copy(update={"webhooks_allow_private": False})
    gd_runtime.settings = settings
    added, _secret = await endpoints.add(
        gd_runtime, "http://127.0.0.1:9/hooks", ["order.created"], actor="test"
    )
    await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    (line,) = await log(gd_runtime, added.id)
    assert line.status_code is None
    assert line.error.startswith("refused: 127.0.0.1 resolves to 127.0.0.1")
    (job,) = await jobs(gd_runtime)
    assert job.state is JobState.DEAD


async def test_send_again_resends_with_the_same_id(
    gd_runtime: Runtime,
    gd_clock: FrozenClock,
    gd_product: Product,
    gd_run_jobs: RunJobs,
    receiver: Receiver,
    endpoint: Endpoint,
) -> None:
    start = gd_clock.now()
    await new_order(gd_runtime, gd_product)
    gd_clock.advance(minutes=1)
    await new_order(gd_runtime, gd_product)
    await gd_run_jobs()
    assert len(receiver.received) == 2
    async with gd_runtime.db.transaction() as session:
        first = (
            (await session.execute(sa.select(WebhookEvent).order_by(WebhookEvent.created_at)))
            .scalars()
            .first()
        )
    assert first is not None
    assert await endpoints.send_again(gd_runtime, endpoint[0].id, first.id, actor="test") == 1
    await gd_run_jobs()
    assert receiver.received[-1].headers["webhook-id"] == first.id
    count = await endpoints.send_again_between(
        gd_runtime, endpoint[0].id, start, start + timedelta(minutes=2), actor="test"
    )
    assert count == 2
    await gd_run_jobs()
    assert len(receiver.received) == 5
    Webhook(endpoint[1]).verify(receiver.received[-1].body, receiver.received[-1].headers)


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A certificate for ``name`` and its key, written to ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


async def test_https_goes_to_the_checked_address_with_the_name_for_tls_and_host(
    gd_runtime: Runtime, tmp_path: Path
) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(update={"sandbox": False})
    cert, key = self_signed(tmp_path, "crm.test")
    trusted = ssl.create_default_context(cafile=str(cert))
    with serve_receiver(tls=(cert, key)) as receiver:
        outcome = await post(
            gd_runtime,
            receiver.url.replace("127.0.0.1", "crm.test"),
            b"{}",
            {"webhook-id": "evt_1"},
            resolver=to_loopback,
            tls=trusted,
        )
    assert outcome.status_code == 200, outcome.error
    (got,) = receiver.received
    assert got.headers["host"] == receiver.url.split("/")[2].replace("127.0.0.1", "crm.test")
    assert got.headers["webhook-id"] == "evt_1"


async def test_https_with_a_certificate_for_another_name_is_not_sent(
    gd_runtime: Runtime, tmp_path: Path
) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(update={"sandbox": False})
    cert, key = self_signed(tmp_path, "other.test")
    trusted = ssl.create_default_context(cafile=str(cert))
    with serve_receiver(tls=(cert, key)) as receiver:
        url = receiver.url.replace("127.0.0.1", "crm.test")
        outcome = await post(gd_runtime, url, b"{}", {}, resolver=to_loopback, tls=trusted)
    assert outcome.status_code is None
    assert "ConnectError" in outcome.error
    assert outcome.is_retryable
    assert receiver.received == []
