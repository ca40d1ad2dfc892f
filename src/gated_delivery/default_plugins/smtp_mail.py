"""SMTP mail transport, used when ``GD_SMTP_HOST`` is set."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import MailTransport, hookimpl


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

    def _send(self, message: EmailMessage) -> None:
        with self._connect() as smtp:
            if self.starttls:
                smtp.starttls(context=self.tls_context)
            if self.username and self.password:
                smtp.login(self.username, self.password.get_secret_value())
            smtp.send_message(message)


@hookimpl
def mail_transport(settings: CoreSettings) -> MailTransport | None:
    """SMTP when ``GD_SMTP_HOST`` is set; otherwise let the folder transport answer."""
    return SMTPMail(settings) if settings.smtp_host else None
