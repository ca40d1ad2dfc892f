"""Delivering the deliverable: staff operations, and new links on request.

The link mails themselves are sent by the mail job (``mail_jobs``).

Staff operations are plain async functions (the CLI and the staff pages call the same ones);
each is a guarded transition with its audit event, and refuses with the reason when the
order's state does not allow it, changing nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import assets, job_kinds, tokens
from gated_delivery.db import lock
from gated_delivery.errors import ActionRefused, NotFound
from gated_delivery.fulfilment import move
from gated_delivery.ids import new_public_id
from gated_delivery.models import Asset, AssetKind, AuditEvent, DownloadToken, Order
from gated_delivery.runtime import Runtime
from gated_delivery.states import FULFILMENT, ORDER, FulfilmentState, PaymentStatus
from gated_delivery.transitions import audit, enqueue, transition

F = FulfilmentState
#: "Send me a new link" at most this often, per order and per client address.
RENEWALS_PER_ORDER_PER_HOUR: Final = 3
RENEWALS_PER_CLIENT_PER_HOUR: Final = 10


async def _locked_order(session: AsyncSession, order_id: str) -> Order:
    order = await lock(session, Order, order_id)
    if order is None:
        raise NotFound(f"no order {order_id!r}")
    return order


# --- staff operations ---------------------------------------------------------------


async def upload_final(
    rt: Runtime,
    order_id: str,
    chunks: AsyncIterator[bytes],
    *,
    filename: str,
    media_type: str,
    actor: str,
) -> Asset:
    """Store the reviewed final document of a PAID order (replacing an earlier final)."""
    async with rt.db.transaction() as session:
        _check_final_allowed(await _locked_order(session, order_id))
    stored = await rt.storage.save(f"{order_id}/{new_public_id()}", chunks)
    try:
        async with rt.db.transaction() as session:
            order = await _locked_order(session, order_id)
            _check_final_allowed(order)  # the order may have changed while the file arrived
            await assets.supersede(session, order.id, AssetKind.FINAL, rt.clock.now())
            row = assets.columns(
                stored,
                kind=AssetKind.FINAL,
                storage=rt.storage.name,
                filename=filename,
                media_type=media_type,
                now=rt.clock.now(),
                order_id=order.id,
            )
            asset = Asset(**row)
            session.add(asset)
            await session.flush()
            if order.fulfilment_status is F.FINAL_UPLOADED:
                audit(
                    session,
                    now=rt.clock.now(),
                    order_id=order.id,
                    machine=FULFILMENT.name,
                    subject_id=order.id,
                    event="final_replaced",
                    actor=actor,
                    data={"asset_id": asset.id, "sha256": stored.sha256},
                )
            else:
                await move(
                    rt,
                    session,
                    order,
                    F.FINAL_UPLOADED,
                    actor=actor,
                    reason=f"final {filename} ({stored.size_bytes} bytes)",
                )
            return asset
    except BaseException:
        await rt.storage.delete(stored.key)  # refused after all: keep no orphan file
        raise


def _check_final_allowed(order: Order) -> None:
    if order.payment_status is not PaymentStatus.PAID:
        raise ActionRefused(
            f"order {order.id} is {order.payment_status.value}: a final can only be "
            "uploaded for a paid order"
        )
    current = order.fulfilment_status
    if current is not F.FINAL_UPLOADED and F.FINAL_UPLOADED not in FULFILMENT.moves[current]:
        raise ActionRefused(f"order {order.id} is {current.value}: a final cannot be uploaded now")


async def publish(rt: Runtime, order_id: str, *, actor: str) -> bool:
    """Publish a PAID order's deliverable and e-mail the link; False if already published."""
    async with rt.db.transaction() as session:
        order = await _locked_order(session, order_id)
        if order.fulfilment_status in tokens.DOWNLOADABLE:
            audit(
                session,
                now=rt.clock.now(),
                order_id=order.id,
                machine=FULFILMENT.name,
                subject_id=order.id,
                event="publish_repeated",
                actor=actor,
                reason="already published; nothing sent",
            )
            return False
        return await move(rt, session, order, F.PUBLISHED, actor=actor, reason="published")


async def resend(rt: Runtime, order_id: str, *, actor: str) -> None:
    """E-mail a fresh link for a published order to the order's own address."""
    async with rt.db.transaction() as session:
        order = await _locked_order(session, order_id)
        _check_deliverable(order)
        key = f"resend:{order.id}:{new_public_id()}"
        await enqueue(
            session,
            job_kinds.mail_job("file_ready", order.id, key=key),
            now=rt.clock.now(),
        )
        audit(
            session,
            now=rt.clock.now(),
            order_id=order.id,
            machine="download link",
            subject_id=order.id,
            event="resend",
            actor=actor,
        )
    rt.wake_worker()


def _check_deliverable(order: Order) -> None:
    if order.payment_status is not PaymentStatus.PAID:
        raise ActionRefused(f"order {order.id} is {order.payment_status.value}, not paid")
    if order.fulfilment_status not in tokens.DOWNLOADABLE:
        raise ActionRefused(
            f"order {order.id} is {order.fulfilment_status.value}: publish it first"
        )


def staff_actions(order: Order, *, has_final: bool, open_attempts: int) -> frozenset[str]:
    """The staff operations this order's states allow now, by the staff pages' names.

    For showing only what makes sense; each operation still checks for itself under lock.
    ``has_final``: the order has a live final; ``open_attempts``: payments still open.
    """
    current = order.fulfilment_status
    allowed = set()
    if _passes(_check_final_allowed, order):
        allowed.add("final")
    if _passes(_check_deliverable, order):
        allowed.add("resend")
    elif (
        order.payment_status is PaymentStatus.PAID
        and F.PUBLISHED in FULFILMENT.moves[current]
        and (has_final or not order.product.requires_review)
    ):
        allowed.add("publish")
    if current is F.GENERATION_FAILED:
        allowed.add("retry-generation")
    if open_attempts:
        allowed.add("recheck")
    if F.REVOKED in FULFILMENT.moves[current]:
        allowed.add("revoke")
    if order.payment_status is PaymentStatus.PAID:
        allowed.add("refund")
    return frozenset(allowed)


def _passes(check: Callable[[Order], None], order: Order) -> bool:
    try:
        check(order)
    except ActionRefused:
        return False
    return True


async def revoke(rt: Runtime, order_id: str, *, actor: str, reason: str) -> int:
    """Revoke the order's fulfilment and every live link; returns how many links died."""
    if not reason.strip():
        raise ActionRefused("a reason is required to revoke an order")
    async with rt.db.transaction() as session:
        order = await _locked_order(session, order_id)
        if order.fulfilment_status is F.REVOKED:
            raise ActionRefused(f"order {order.id} is already revoked")
        before = await _live_tokens(session, order.id)
        await move(rt, session, order, F.REVOKED, actor=actor, reason=reason)
        return before


async def refund(rt: Runtime, order_id: str, *, actor: str, reason: str) -> int:
    """Record that the buyer was refunded: the order is REFUNDED, every link revoked.

    The money goes back through the provider's own back office; this keeps our side true.
    Returns how many live links were revoked.
    """
    if not reason.strip():
        raise ActionRefused("a reason is required to record a refund")
    async with rt.db.transaction() as session:
        order = await _locked_order(session, order_id)
        before = await _live_tokens(session, order.id)
        await transition(
            session,
            ORDER,
            order,
            "payment_status",
            PaymentStatus.REFUNDED,
            now=rt.clock.now(),
            order_id=order.id,
            actor=actor,
            reason=reason,
            # one mail per order: the outbox's dedupe key drops any repeat
            jobs=[job_kinds.mail_job("order_refunded", order.id, key=f"refunded:{order.id}")],
        )
        if order.fulfilment_status is not F.REVOKED:
            await move(rt, session, order, F.REVOKED, actor=actor, reason=f"refunded: {reason}")
        return before


async def _live_tokens(session: AsyncSession, order_id: str) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(DownloadToken)
        .where(DownloadToken.order_id == order_id, DownloadToken.revoked_at.is_(None))
    )
    return int((await session.execute(query)).scalar_one())


# --- "send me a new link" -------------------------------------------------------------


def client_fingerprint(rt: Runtime, client_ip: str) -> str:
    """A keyed hash of the client address: enough to rate-limit, useless to anyone else."""
    digest = hmac.new(rt.settings.secret.encode(), client_ip.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


async def request_new_link(rt: Runtime, token_id: str | None, client_ip: str) -> bool:
    """Queue a new link to the order's own address if allowed; True if one was queued.

    The caller answers the same whatever this returns: nobody learns whether a link, an
    order or an address exists.
    """
    now = rt.clock.now()
    fingerprint = client_fingerprint(rt, client_ip)
    async with rt.db.transaction() as session:
        token = await session.get(DownloadToken, token_id) if token_id else None
        order = await _lock_if_deliverable(session, token)
        since = now - timedelta(hours=1)
        recent = (
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.machine == "download link",
                AuditEvent.event == "renewal_requested",
                AuditEvent.created_at > since,
            )
        )
        by_client = await session.execute(
            recent.where(AuditEvent.data["client"].as_string() == fingerprint)
        )
        if order is None or by_client.scalar_one() >= RENEWALS_PER_CLIENT_PER_HOUR:
            return False
        by_order = await session.execute(recent.where(AuditEvent.order_id == order.id))
        granted = by_order.scalar_one() < RENEWALS_PER_ORDER_PER_HOUR
        audit(
            session,
            now=now,
            order_id=order.id,
            machine="download link",
            subject_id=token.id if token else "",
            event="renewal_requested",
            actor="buyer",
            reason="" if granted else "rate limited",
            data={"client": fingerprint},
        )
        if granted:
            await enqueue(
                session,
                job_kinds.mail_job("new_link", order.id, key=f"renew:{order.id}:{new_public_id()}"),
                now=now,
            )
    if granted:
        rt.wake_worker()
    return granted


async def _lock_if_deliverable(session: AsyncSession, token: DownloadToken | None) -> Order | None:
    if token is None or token.revoked_at is not None:
        return None
    order = await lock(session, Order, token.order_id)
    if order is None or order.payment_status is not PaymentStatus.PAID:
        return None
    return order if order.fulfilment_status in tokens.DOWNLOADABLE else None
