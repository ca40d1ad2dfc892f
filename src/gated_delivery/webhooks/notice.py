"""Telling the staff that an endpoint was disabled (``GD_ADMIN_EMAILS``), in the mail language.

The mail is its own outbox job, so a mail server that is down delays it without losing it.
"""

from __future__ import annotations

from typing import Any, Final

from gated_delivery import audit_names, job_kinds, mail
from gated_delivery.models import WebhookEndpoint
from gated_delivery.runtime import Runtime
from gated_delivery.transitions import audit

TEMPLATE: Final = "admin_webhook_disabled"


def render(rt: Runtime, context: dict[str, Any]) -> tuple[str, str, str]:
    """Subject, text and HTML of the notice (host templates override ours, as for mail)."""
    env = mail.environment(rt.settings)
    lang = rt.settings.mail_lang
    subject = env.get_template(f"{lang}/{TEMPLATE}.subject.txt").render(context).strip()
    text = env.get_template(f"{lang}/{TEMPLATE}.txt").render(context)
    html = env.get_template(f"{lang}/{TEMPLATE}.html").render(context)
    return " ".join(subject.split()), text, html


async def send_disabled_notice(rt: Runtime, payload: job_kinds.EndpointPayload) -> None:
    """The ``webhook_disabled_notice`` job: mail the staff that an endpoint was disabled."""
    async with rt.db.transaction() as session:
        endpoint = await session.get(WebhookEndpoint, payload["endpoint_id"])
        if endpoint is None:
            return
        context = {
            "endpoint_id": endpoint.id,
            "url": endpoint.url,
            "description": endpoint.description,
            "reason": endpoint.disabled_reason,
            "staff_url": f"{rt.settings.base_url}/staff/webhooks/{endpoint.id}",
        }
        if not rt.settings.admin_emails:
            audit(
                session,
                now=rt.clock.now(),
                order_id=None,
                machine=audit_names.MAIL,
                subject_id=endpoint.id,
                event="skipped",
                actor="worker",
                reason=f"{TEMPLATE}: no recipient (GD_ADMIN_EMAILS is empty)",
            )
            return
    subject, text, html = render(rt, context)
    await rt.mail.send(
        mail.build_message(rt.settings, rt.settings.admin_emails, subject, text, html)
    )
