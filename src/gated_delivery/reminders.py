"""One reminder mail for an order left unpaid: "finish your payment, or try another way".

Mobile-money payments often stall (wrong operator, no balance, a missed USSD prompt). The
worker's periodic pass (right after the reconciler; Celery beat's too) calls ``queue_due``:
every UNPAID or FAILED order older than its product's delay gets one ``payment_reminder``
job, keyed by the order so that the outbox keeps it to one however many workers race. The
job checks the order again before it mails: paid, refunded or revoked meanwhile, it sends
nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import sqlalchemy as sa

from gated_delivery import audit_names, job_kinds
from gated_delivery.mail_jobs import send_mail
from gated_delivery.models import Job, Order, Product
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState, PaymentStatus
from gated_delivery.transitions import audit, enqueue

REMINDABLE: Final = frozenset({PaymentStatus.UNPAID, PaymentStatus.FAILED})
#: Orders older than their delay plus this are left alone: turning reminders on (or a
#: worker back after a long outage) must not mail every old abandoned order at once.
WINDOW: Final = timedelta(hours=24)


def delay_minutes(rt: Runtime, product: Product) -> int:
    """The product's reminder delay; 0 when reminders are off for it or for everyone."""
    if not rt.settings.payment_reminder_minutes:
        return 0
    own = product.payment_reminder_minutes
    return rt.settings.payment_reminder_minutes if own is None else own


async def queue_due(rt: Runtime, *, dry_run: bool = False) -> list[str]:
    """Queue the reminder of every order due for one; returns the ids of those orders."""
    now = rt.clock.now()
    queued: list[str] = []
    async with rt.db.transaction() as session:
        products = list((await session.execute(sa.select(Product))).scalars())
        for product in products:
            minutes = delay_minutes(rt, product)
            if minutes <= 0:
                continue
            due_before = now - timedelta(minutes=minutes)
            already = sa.exists().where(Job.dedupe_key == sa.literal("mail:reminder:") + Order.id)
            orders = await session.execute(
                sa.select(Order.id).where(
                    Order.product_id == product.id,
                    Order.payment_status.in_(list(REMINDABLE)),
                    Order.fulfilment_status != FulfilmentState.REVOKED,
                    Order.created_at <= due_before,
                    Order.created_at > due_before - WINDOW,
                    ~already,
                )
            )
            for order_id in orders.scalars():
                if not dry_run:
                    await enqueue(
                        session,
                        job_kinds.reminder_job(order_id),
                        now=now,
                    )
                queued.append(order_id)
    if queued and not dry_run:
        rt.wake_worker()
    return queued


async def send_reminder(rt: Runtime, payload: job_kinds.MailPayload) -> None:
    """The ``payment_reminder`` job: mail it if the order still waits for its payment."""
    async with rt.db.transaction() as session:
        order = await session.get(Order, payload["order_id"])
        if order is None:
            return
        if order.payment_status in REMINDABLE and order.fulfilment_status is not (
            FulfilmentState.REVOKED
        ):
            skip = ""
        else:
            skip = f"the order is {order.payment_status.value}/{order.fulfilment_status.value}"
            audit(
                session,
                now=rt.clock.now(),
                order_id=order.id,
                machine=audit_names.MAIL,
                subject_id=str(payload["key"]),
                event="skipped",
                actor="worker",
                reason=f"payment_reminder: {skip}",
            )
    if not skip:
        await send_mail(rt, payload)
