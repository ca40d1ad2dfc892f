"""SMTP mail transport, used when ``GD_SMTP_HOST`` is set."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import ssl
from collections.abc import Iterator
from email.message import EmailMessage

from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import hookimpl
from gated_delivery.plugin_protocols import MailTransport


class SMTPMail:
    """Sends through an SMTP server (implicit TLS or STARTTLS, and login, when configured).

    ``tls_context`` verifies the server's certificate; the default trusts the system's
    certificate authorities and checks the host name.
    """

    def __init__(
        self,
        settings: CoreSettings,
        *,
        timeout_seconds: float = 30,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = settings.smtp_host or "localhost"
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.implicit_tls = settings.smtp_ssl
        self.starttls = settings.smtp_starttls and not settings.smtp_ssl
        self.timeout_seconds = timeout_seconds
        self.tls_context = tls_context or ssl.create_default_context()

    async def send(self, message: EmailMessage) -> None:
        """Send one message; network errors propagate so the mail job is retried."""
        # smtplib blocks; a thread keeps the event loop (and the webhook intake) free
        await asyncio.to_thread(self._send, message)

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_seconds, context=self.tls_context
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)

    async def check(self) -> str:
        """Connect, secure and log in as ``send`` would, and send nothing; what went well."""
        return await asyncio.to_thread(self._check)

    def _check(self) -> str:
        with self._session() as smtp:
            smtp.noop()
        tls = "TLS" if self.implicit_tls else "STARTTLS" if self.starttls else "no TLS"
        login = "logged in" if self.username and self.password else "no login"
        return f"{self.host}:{self.port} answered ({tls}, {login})"

    def _send(self, message: EmailMessage) -> None:
        with self._session() as smtp:
            smtp.send_message(message)

    @contextlib.contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        with self._connect() as smtp:
            if self.starttls:
                smtp.starttls(context=self.tls_context)
            if self.username and self.password:
                smtp.login(self.username, self.password.get_secret_value())
            yield smtp


@hookimpl
def mail_transport(settings: CoreSettings) -> MailTransport | None:
    """SMTP when ``GD_SMTP_HOST`` is set; otherwise let the folder transport answer."""
    return SMTPMail(settings) if settings.smtp_host else None
