"""The open order forms: who may submit how often, how much unpaid upload is kept, and for how long.

Anyone can submit an order form before paying, with files. So submissions are counted per
client address and per buyer e-mail address (``throttle``), the uploads of orders not paid
yet share one size budget (``GD_UNPAID_UPLOAD_BUDGET_MB``), the worker deletes the uploads
of orders never paid after ``GD_UNPAID_RETENTION`` days, and the admins hear about new
unpaid inquiries in one digest mail per ``GD_ADMIN_DIGEST_MINUTES`` instead of one each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import answers, audit_names, job_kinds, mail, plugins, throttle
from gated_delivery.db import lock
from gated_delivery.errors import TooManyRequests
from gated_delivery.models import Asset, AssetKind, AuditEvent, Order
from gated_delivery.runtime import Runtime
from gated_delivery.staff_accounts import keyed_hash
from gated_delivery.states import PaymentStatus
from gated_delivery.transitions import audit, enqueue

log = logging.getLogger(__name__)

#: Whose uploads count against the budget: orders that may still be paid.
NOT_PAID: Final = (PaymentStatus.UNPAID, PaymentStatus.PENDING, PaymentStatus.FAILED)
#: Whose uploads the purge may delete: never paid, no payment under way. A FAILED order
#: confirmed later (mobile money) keeps its order and payment, only not these files.
NEVER_PAID: Final = (PaymentStatus.UNPAID, PaymentStatus.FAILED)
HOUR: Final = timedelta(hours=1)
MIB: Final = 1024 * 1024
#: How many orders one purge pass handles (the next pass takes the rest).
PURGE_BATCH: Final = 200
#: How many orders a digest lists by name (it counts the others).
DIGEST_LIST: Final = 50
TRY_LATER: Final = "too many order forms were sent from here; try again later"
FULL: Final = "too many unpaid documents are waiting; try again later"


async def admit_client(rt: Runtime, client_ip: str) -> None:
    """Count one form submission from ``client_ip``; ``TooManyRequests`` past the limit."""
    key = "inquiry-client:" + keyed_hash(rt, "inquiry-client", client_ip)
    await _admit(rt, key, rt.settings.inquiries_per_client_per_hour, TRY_LATER)


async def admit_email(rt: Runtime, email: str) -> None:
    """Count one form submission for a buyer address; ``TooManyRequests`` past the limit."""
    key = "inquiry-email:" + keyed_hash(rt, "inquiry-email", email.strip().lower())
    await _admit(rt, key, rt.settings.inquiries_per_email_per_hour, TRY_LATER)


async def _admit(rt: Runtime, key: str, per_hour: int, message: str) -> None:
    rule = throttle.Rule(key, per_hour, HOUR, throttle.fixed(HOUR), scope=key.split(":")[0])
    async with rt.db.transaction() as session:
        taken = await throttle.take(session, [rule], now=rt.clock.now())
    if not taken.allowed:
        raise TooManyRequests(message, int(taken.retry_after.total_seconds()))


async def unpaid_upload_bytes(session: AsyncSession) -> int:
    """The total size of the uploads of orders not paid yet."""
    total = await session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Asset.size_bytes), 0))
        .join(Order, Order.id == Asset.order_id)
        .where(Asset.kind == AssetKind.UPLOAD, Order.payment_status.in_(NOT_PAID))
    )
    return int(total.scalar_one())


async def check_budget(rt: Runtime, incoming_bytes: int = 0) -> None:
    """``TooManyRequests`` if ``incoming_bytes`` more would pass the unpaid upload budget.

    Checked before reading a form (is there room at all?) and again with the files' sizes
    before the order is written; submissions racing each other may pass it by at most
    their own files, which the per-client limit keeps few.
    """
    async with rt.db.transaction() as session:
        used = await unpaid_upload_bytes(session)
    if used + incoming_bytes > rt.settings.unpaid_upload_budget_mb * MIB:
        raise TooManyRequests(FULL, 3600)


# --- the admins' digest -------------------------------------------------------------------


async def tell_admins(rt: Runtime, session: AsyncSession, order_id: str, now: datetime) -> None:
    """Record an unpaid inquiry and make sure this period's digest mail is queued."""
    audit(
        session,
        now=now,
        order_id=order_id,
        machine=audit_names.ORDER,
        subject_id=order_id,
        event="inquiry_received",
        actor="buyer",
    )
    minutes = rt.settings.admin_digest_minutes
    if not minutes or not rt.settings.admin_emails:
        return
    period = timedelta(minutes=minutes)
    start = datetime.fromtimestamp(
        now.timestamp() // period.total_seconds() * period.total_seconds(), UTC
    )
    job = job_kinds.digest_job(
        start.isoformat(), (start + period).isoformat(), run_after=start + period
    )
    await enqueue(session, job, now=now)


async def send_digest(rt: Runtime, payload: job_kinds.DigestPayload) -> None:
    """The ``inquiry_digest`` job: one mail to the admins listing a period's inquiries."""
    since = datetime.fromisoformat(payload["since"])
    until = datetime.fromisoformat(payload["until"])
    async with rt.db.transaction() as session:
        found = await session.execute(
            sa.select(Order)
            .join(AuditEvent, AuditEvent.order_id == Order.id)
            .where(
                AuditEvent.event == "inquiry_received",
                AuditEvent.created_at >= since,
                AuditEvent.created_at < until,
            )
            .order_by(AuditEvent.id)
        )
        orders = list(found.scalars().unique())
    if not orders or not rt.settings.admin_emails:
        return
    context = {
        "count": len(orders),
        "orders": [_line(rt, order) for order in orders[:DIGEST_LIST]],
        "more": max(0, len(orders) - DIGEST_LIST),
        "staff_url": f"{rt.settings.base_url}/staff/",
    }
    subject, text, html = mail.render(
        mail.environment(rt.settings), "admin_inquiry_digest", rt.settings.mail_lang, context
    )
    await rt.mail.send(
        mail.build_message(rt.settings, rt.settings.admin_emails, subject, text, html)
    )


def _line(rt: Runtime, order: Order) -> dict[str, Any]:
    schema = plugins.form_schema(rt.pm, order.product.slug, rt.settings.mail_lang)
    return {
        # each answer under its label, as in the other staff mails
        "answers": answers.as_text(answers.present(schema, order.answers)),
        "order_id": order.id,
        "product": order.product.title,
        "amount": str(order.price),
        "name": order.buyer_name,
        "email": order.buyer_email,
        "payment": order.payment_status.value,
        "staff_url": f"{rt.settings.base_url}/staff/orders/{order.id}",
    }


# --- the purge ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purged:
    """What one purge pass removed."""

    orders: int = 0
    files: int = 0
    size_bytes: int = 0


async def purge_unpaid_uploads(rt: Runtime) -> Purged:
    """Delete the uploads of orders never paid and older than ``GD_UNPAID_RETENTION`` days.

    Each order is locked and its status checked again before anything goes, so an order
    being paid right now keeps its files; each purge is an audit event on the order.
    """
    cutoff = rt.clock.now() - timedelta(days=rt.settings.unpaid_retention_days)
    async with rt.db.transaction() as session:
        candidates = await session.execute(
            sa.select(Order.id)
            .where(
                Order.payment_status.in_(NEVER_PAID),
                Order.created_at < cutoff,
                sa.exists().where(Asset.order_id == Order.id, Asset.kind == AssetKind.UPLOAD),
            )
            .order_by(Order.created_at)
            .limit(PURGE_BATCH)
        )
        order_ids = list(candidates.scalars())
    total = Purged()
    for order_id in order_ids:
        keys, size = await _purge_order(rt, order_id)
        for key in keys:
            try:
                await rt.storage.delete(key)
            except OSError:
                log.warning("purged upload of order %s left its file behind", order_id)
        if keys:
            total = Purged(total.orders + 1, total.files + len(keys), total.size_bytes + size)
    return total


async def _purge_order(rt: Runtime, order_id: str) -> tuple[list[str], int]:
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        if order is None or order.payment_status not in NEVER_PAID:
            return [], 0  # paid (or being paid) since the list was made: keep everything
        uploads = list(
            (
                await session.execute(
                    sa.select(Asset).where(
                        Asset.order_id == order_id, Asset.kind == AssetKind.UPLOAD
                    )
                )
            ).scalars()
        )
        size = sum(a.size_bytes for a in uploads)
        for asset in uploads:
            await session.delete(asset)
        audit(
            session,
            now=rt.clock.now(),
            order_id=order_id,
            machine=audit_names.ORDER,
            subject_id=order_id,
            event="uploads_purged",
            actor="worker",
            reason="never paid",
            data={
                "files": len(uploads),
                "size_bytes": size,
                "retention_days": rt.settings.unpaid_retention_days,
            },
        )
        return [a.key for a in uploads], size
