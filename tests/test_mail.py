"""Mail (mail.py, mail_jobs.send_mail, the SMTP transport) against a real SMTP server."""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from gated_delivery import delivery, job_kinds, mail
from gated_delivery.config import CoreSettings
from gated_delivery.default_plugins.smtp_mail import SMTPMail
from gated_delivery.models import AuditEvent, DownloadToken, Job, JobState, Order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, FrozenClock, pay_with_fake
from gated_delivery.testing.orders import make_order

RunJobs = Callable[[], Awaitable[int]]


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802 - aiosmtpd's name
        content: bytes = envelope.content  # type: ignore[attr-defined]
        self.messages.append(
            email.message_from_bytes(content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"

    def subjects(self) -> list[str]:
        return sorted(str(m["Subject"]) for m in self.messages)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def gd_settings(gd_settings: CoreSettings, smtp_port: int) -> CoreSettings:
    return gd_settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_starttls": False,
            "admin_emails": ["admin@example.org"],
            "mail_from": "shop@example.org",
        }
    )


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def pay(client: httpx.AsyncClient, fake: FakeProvider, order: Order, run: RunJobs) -> None:
    await pay_with_fake(client, fake, order.id, run)


async def test_paid_then_published_mails_reach_the_smtp_server(
    inbox: Inbox,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await make_order(gd_runtime, requires_review=True)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    assert inbox.subjects() == [
        "Nouvelle commande payée : Rapport (25000 XOF)",
        "Paiement confirmé — Rapport",
    ]
    admin = next(m for m in inbox.messages if m["To"] == "admin@example.org")
    assert "awa@example.org" in admin.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    await delivery.upload_final(
        gd_runtime,
        order.id,
        _one(b"%PDF-1.7 final"),
        filename="rapport.pdf",
        media_type="application/pdf",
        actor="staff:ops",
    )
    assert await delivery.publish(gd_runtime, order.id, actor="staff:ops") is True
    assert await delivery.publish(gd_runtime, order.id, actor="staff:ops") is False
    await gd_run_jobs()
    await gd_run_jobs()
    ready = [m for m in inbox.messages if "prêt" in str(m["Subject"])]
    assert len(ready) == 1  # publishing twice sends one mail
    text = ready[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "http://testserver/download/" in text
    assert "rapport.pdf" in text
    html = ready[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert '<a href="http://testserver/download/' in html
    assert ready[0]["From"] == "shop@example.org"


async def test_a_mail_server_outage_delays_the_mail_and_sends_it_once(
    smtp_port: int,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
) -> None:
    order = await make_order(gd_runtime, requires_review=True)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)  # no server listening yet
    async with gd_runtime.db.transaction() as session:
        jobs = list(
            (
                await session.execute(
                    sa.select(Job).where(Job.kind == job_kinds.MAIL).order_by(Job.id)
                )
            ).scalars()
        )
    assert [j.state for j in jobs] == [JobState.PENDING, JobState.PENDING]
    assert all("ConnectionRefusedError" in j.last_error for j in jobs)
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        gd_clock.advance(minutes=15)
        await gd_run_jobs()
        gd_clock.advance(minutes=15)
        await gd_run_jobs()
    finally:
        controller.stop()
    assert handler.subjects() == [
        "Nouvelle commande payée : Rapport (25000 XOF)",
        "Paiement confirmé — Rapport",
    ]


async def test_mails_follow_the_orders_language_and_host_templates(
    tmp_path: Path,
    gd_runtime: Runtime,
) -> None:
    order = await make_order(gd_runtime, requires_review=True)
    context = {
        "order_id": order.id,
        "name": "Awa",
        "email": "awa@example.org",
        "product": "Rapport",
        "tier": "std",
        "amount": "25000 XOF",
        "review": True,
        "status_url": "http://testserver/orders/x/status",
    }
    env = mail.environment(gd_runtime.settings)
    subject, _text, _html = mail.render(env, "payment_confirmed", "en", context)
    assert subject == "Payment confirmed — Rapport"
    override = tmp_path / "host" / "mail" / "fr"
    override.mkdir(parents=True)
    (override / "payment_confirmed.subject.txt").write_text("Merci {{ name }} !")
    settings = gd_runtime.settings.model_copy(update={"templates_dir": tmp_path / "host"})
    subject, text, _html = mail.render(
        mail.environment(settings), "payment_confirmed", "fr", context
    )
    assert subject == "Merci Awa !"
    assert "Nous avons reçu" in text  # the templates not overridden are still ours
    escaped = mail.render(env, "payment_confirmed", "fr", {**context, "name": "<b>x</b>"})[2]
    assert "&lt;b&gt;x&lt;/b&gt;" in escaped
    with pytest.raises(ValueError, match="unknown mail template"):
        mail.render(env, "nope", "fr", context)


@pytest.mark.parametrize("lang", mail.LANGUAGES)
@pytest.mark.parametrize("template", mail.TEMPLATES)
def test_every_template_renders_in_every_language(tmp_path: Path, template: str, lang: str) -> None:
    settings = CoreSettings(secret_key="s" * 40, private_media_root=tmp_path, mail_dir=tmp_path)
    context = {
        "order_id": "Abc123",
        "name": "Awa <b>",
        "email": "awa@example.org",
        "product": "Kit Complet",
        "tier": "standard",
        "amount": "150000 XOF",
        "review": True,
        "status_url": "http://shop.example/orders/Abc123/status",
        "staff_url": "http://shop.example/staff/orders/Abc123",
        "link": "http://shop.example/download/t",
        "expires": "2026-11-23 18:00",
        "max_uses": 1,
        "filename": "kit.docx",
        "answers": ["Nom de l'organisation: Awa <b> SARL", "Types d'audit:", "  - Audit financier"],
        "minutes": 30,
        "pay_url": "http://shop.example/checkout/Abc123",
        "payment_methods": ["Orange Money", "Wave"],
    }
    # the admins' digest lists orders: one, with what its buyer typed
    line = {k: context[k] for k in ("order_id", "name", "email", "product", "amount")}
    context.update(count=1, more=0, orders=[{**line, "payment": "unpaid", **context}])
    subject, text, html = mail.render(mail.environment(settings), template, lang, context)
    if template.startswith("admin_"):  # staff mails carry the answers under their labels
        assert "  - Audit financier" in text
        assert "Awa &lt;b&gt; SARL" in html
    assert subject
    assert "\n" not in subject
    assert "Abc123" in text or "Kit Complet" in text or "shop.example/download/t" in text
    assert "<b>" not in html  # the HTML part escapes what buyers typed


# --- TLS: implicit (SMTPS) and STARTTLS, with the certificate checked -------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the TLS tests make their certificate with the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
    names = "subjectAltName=IP:127.0.0.1"
    subprocess.run(  # noqa: S603 - our fixed arguments
        [openssl, *request.split(), "-addext", names, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "TLS"
    message.set_content("chiffré")
    return message


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
async def test_mail_goes_over_tls_and_the_certificate_is_checked(
    tmp_path: Path, certificate: tuple[Path, Path], mode: str
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    handler, port = Inbox(), free_port()
    if mode == "implicit":
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=server_tls)
    else:
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True
        )
    settings = CoreSettings(
        secret_key="s" * 40,
        private_media_root=tmp_path,
        mail_dir=tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_ssl=mode == "implicit",
        smtp_starttls=mode == "starttls",
    )
    controller.start()
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            await SMTPMail(settings, timeout_seconds=5).send(_message())  # system CAs only
        trusting = ssl.create_default_context(cafile=str(cert))
        await SMTPMail(settings, timeout_seconds=5, tls_context=trusting).send(_message())
    finally:
        controller.stop()
    assert [str(m["Subject"]) for m in handler.messages] == ["TLS"]


async def test_a_link_mail_delayed_past_the_links_lifetime_still_carries_a_live_link(
    smtp_port: int,
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
) -> None:
    order = await make_order(gd_runtime, requires_review=True)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)  # no mail server yet
    await delivery.upload_final(
        gd_runtime,
        order.id,
        _one(b"%PDF-1.4 final"),
        filename="f.pdf",
        media_type="application/pdf",
        actor="t",
    )
    await delivery.publish(gd_runtime, order.id, actor="t")
    await gd_run_jobs()  # the link mail fails, but its token is issued
    ttl = gd_runtime.settings.download_ttl_minutes
    gd_clock.advance(minutes=ttl + 15)  # the server comes back after the link would expire
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        for _ in range(4):
            await gd_run_jobs()
            gd_clock.advance(minutes=15)
    finally:
        controller.stop()
    links = [m for m in handler.messages if "/download/" in m.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
    assert len(links) == 1
    async with gd_runtime.db.transaction() as session:
        issued = list((await session.execute(sa.select(DownloadToken))).scalars())
        renewed = (
            await session.execute(sa.select(AuditEvent).where(AuditEvent.event == "renewed"))
        ).scalar_one()
    assert len(issued) == 1  # renewed, not multiplied
    sent_at = renewed.created_at
    assert issued[0].expires_at == sent_at + timedelta(minutes=ttl)
