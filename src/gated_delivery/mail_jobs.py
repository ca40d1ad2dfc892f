"""The mail job: render a queued mail for an order and send it.

Mails are queued as ``mail`` jobs (``job_kinds.mail_job``) by the change that asks for them; this
renders one in the order's language and sends it. A link mail carries a download link, issued
for the job (``tokens.issue``), so a retried job reuses its link instead of adding one.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import answers, assets, audit_names, job_kinds, mail, metrics, plugins, tokens
from gated_delivery.checkout import providers_for
from gated_delivery.models import Asset, DownloadToken, Order
from gated_delivery.runtime import Runtime
from gated_delivery.states import PaymentStatus
from gated_delivery.transitions import audit

log = logging.getLogger(__name__)


def _context(rt: Runtime, order: Order, lang: str) -> dict[str, Any]:
    schema = plugins.form_schema(rt.pm, order.product.slug, lang)
    return {
        # for staff mails: each answer under its label, in the staff language
        "answers": answers.as_text(answers.present(schema, order.answers)),
        "order_id": order.id,
        "name": order.buyer_name,
        "email": order.buyer_email,
        "product": order.product.title,
        "tier": order.tier_id,
        "amount": str(order.price),
        "review": order.product.requires_review,
        "status_url": rt.settings.order_page_url(order.id),
        # where an unpaid order is paid: the host's order page, else the core's checkout
        "pay_url": rt.settings.base_url
        + (rt.settings.order_page or "/checkout/{order_id}").replace("{order_id}", order.id),
        "payment_methods": [p.display_name for p in providers_for(rt, order.price)],
        "staff_url": f"{rt.settings.base_url}/staff/orders/{order.id}",
    }


def _language(rt: Runtime, order: Order) -> str:
    lang = order.answers.get("lang")
    return lang if lang in mail.LANGUAGES else rt.settings.mail_lang


async def send_mail(rt: Runtime, payload: job_kinds.MailPayload) -> None:
    """The ``mail`` job: render a template for an order and send it.

    A link mail issues its token on the first run and reuses it when the job is retried
    (the token is keyed by the job), so a mail server outage never multiplies links.
    """
    template, key = str(payload["template"]), str(payload["key"])
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        order = await session.get(Order, payload["order_id"])
        if order is None:
            return
        recipients = [order.buyer_email] if payload["to"] == "buyer" else rt.settings.admin_emails
        lang = _language(rt, order)
        context = _context(rt, order, lang)
        skip = "" if recipients else "no recipient (GD_ADMIN_EMAILS is empty)"
        if not skip and template in mail.LINK_TEMPLATES:
            skip = await _add_link(rt, session, order, key, context)
        if skip:
            audit(
                session,
                now=now,
                order_id=order.id,
                machine=audit_names.MAIL,
                subject_id=key,
                event="skipped",
                actor="worker",
                reason=f"{template}: {skip}",
            )
            return
        subject, text, html = mail.render(mail.environment(rt.settings), template, lang, context)
    try:
        await rt.mail.send(mail.build_message(rt.settings, recipients, subject, text, html))
    except Exception:
        metrics.MAILS.labels(template, "failed").inc()
        raise
    metrics.MAILS.labels(template, "sent").inc()
    # who it went to by role only: the address is personal data
    log.info("mail %s sent to the %s", template, payload["to"])
    async with rt.db.transaction() as session:
        audit(
            session,
            now=rt.clock.now(),
            order_id=order.id,
            machine=audit_names.MAIL,
            subject_id=key,
            event="sent",
            actor="worker",
            data={"template": template, "to": payload["to"]},
        )


async def _add_link(
    rt: Runtime, session: AsyncSession, order: Order, key: str, context: dict[str, Any]
) -> str:
    """Put a download link in ``context``; return why not if the order cannot be delivered."""
    if order.payment_status is not PaymentStatus.PAID:
        return f"the order is {order.payment_status.value}, not paid"
    if order.fulfilment_status not in tokens.DOWNLOADABLE:
        return f"the order is {order.fulfilment_status.value}, not published"
    token = (
        await session.execute(sa.select(DownloadToken).where(DownloadToken.issued_for == key))
    ).scalar_one_or_none()
    if token is None:
        asset = await assets.deliverable(session, order)
        if asset is None:
            return "nothing to deliver"
        token = await tokens.issue(
            session,
            rt.settings,
            order=order,
            asset=asset,
            now=rt.clock.now(),
            actor="worker",
            issued_for=key,
        )
    elif token.revoked_at is not None:
        return "its link was revoked"
    elif token.use_count >= token.max_uses:
        return "its link was already used"
    elif token.expires_at <= rt.clock.now():
        # the mail server was down longer than a link lives: the buyer never had this link,
        # so it gets a full lifetime from the moment the mail actually leaves
        tokens.renew(
            session,
            rt.settings,
            token,
            now=rt.clock.now(),
            actor="worker",
            reason="expired before its mail could be sent",
        )
    asset = await session.get(Asset, token.asset_id)
    assert asset is not None  # assets are deleted only with their order
    context.update(
        link=tokens.link(rt.settings, token.id),
        expires=token.expires_at.strftime("%Y-%m-%d %H:%M"),
        max_uses=token.max_uses,
        filename=asset.filename,
    )
    return ""
