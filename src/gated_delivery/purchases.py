""" "Mes achats": a buyer's orders behind a signed, single-use e-mail link.

The buyer types an address; the answer never says whether it has orders. When it has, a
link valid ``LINK_MINUTES`` is mailed through the outbox. Opening the link (a POST from its
landing page, since mail scanners prefetch GETs) uses it up and starts a session of
``SESSION_MINUTES`` that can only list that address's orders and mail a fresh download link
for a delivered one, to that same address.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from gated_delivery import audit_names, job_kinds, mail, tokens
from gated_delivery.db import lock
from gated_delivery.delivery import client_fingerprint
from gated_delivery.errors import ActionRefused, GatedDeliveryError, NotFound
from gated_delivery.ids import new_public_id
from gated_delivery.models import AuditEvent, Order, PurchasesLink
from gated_delivery.orders import check_email
from gated_delivery.runtime import Runtime
from gated_delivery.states import PaymentStatus
from gated_delivery.transitions import audit, enqueue

LINK_SALT: Final = "gated-delivery/purchases-link"
SESSION_SALT: Final = "gated-delivery/purchases-session"
LINK_MINUTES: Final = 30
SESSION_MINUTES: Final = 30
#: Links asked for at most this often, per address and per client address.
LINKS_PER_ADDRESS_PER_HOUR: Final = 3
LINKS_PER_CLIENT_PER_HOUR: Final = 10
#: Fresh download links from "Mes achats", per order.
DOWNLOAD_LINKS_PER_ORDER_PER_HOUR: Final = 3


class Problem(enum.StrEnum):
    """Why a purchases link opens nothing."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"

    @property
    def status_code(self) -> int:
        """The HTTP status for this problem: unknown 404, gone 410."""
        return 404 if self is Problem.UNKNOWN else 410


class LinkRefused(GatedDeliveryError):
    """A purchases link that opens nothing; ``problem`` says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"purchases link refused: {problem.value}; ask for a new one")
        self.problem = problem


# --- signing -------------------------------------------------------------------------


def _serializer(rt: Runtime, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(rt.settings.secret, salt=salt)


def sign(rt: Runtime, link_id: str, *, salt: str = LINK_SALT) -> str:
    """The URL-safe signed form of a link id (``salt``: the link's, or the session's)."""
    value: str = _serializer(rt, salt).dumps(link_id)
    return value


def unsign(rt: Runtime, signed: str, *, salt: str = LINK_SALT) -> str | None:
    """The link id inside ``signed``, or None if it was altered or made for another use."""
    try:
        link_id = _serializer(rt, salt).loads(signed)
    except BadSignature:
        return None
    return link_id if isinstance(link_id, str) else None


def form_token(rt: Runtime, link_id: str) -> str:
    """The CSRF token of a purchases session's forms: tied to that session only."""
    digest = hmac.new(rt.settings.secret.encode(), f"purchases-form:{link_id}".encode(), "sha256")
    return digest.hexdigest()


def form_token_ok(rt: Runtime, link_id: str, given: str) -> bool:
    """Whether ``given`` is this session's form token (compared in constant time)."""
    return hmac.compare_digest(form_token(rt, link_id), given)


def _email_key(rt: Runtime, email: str) -> str:
    digest = hmac.new(rt.settings.secret.encode(), f"purchases:{email}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def normalize(email: str) -> str:
    """The address as orders are matched: checked, trimmed, lower-cased."""
    return check_email(email).lower()


# --- asking for a link -----------------------------------------------------------------


async def request_link(rt: Runtime, email: str, client_ip: str) -> bool:
    """Mail a purchases link to ``email`` if it has orders and limits allow; True if queued.

    The caller answers the same whatever this returns. ``InvalidInput`` for a malformed
    address (that says nothing about who bought).
    """
    address = normalize(email)
    now = rt.clock.now()
    key, client = _email_key(rt, address), client_fingerprint(rt, client_ip)
    async with rt.db.transaction() as session:
        if await _over_limits(session, key, client, now):
            return False
        has_orders = await session.scalar(
            sa.select(sa.exists().where(sa.func.lower(Order.buyer_email) == address))
        )
        link = PurchasesLink(
            email=address if has_orders else None,
            email_key=key,
            client=client,
            expires_at=now + timedelta(minutes=LINK_MINUTES),
            created_at=now,
        )
        session.add(link)
        await session.flush()
        if has_orders:
            await enqueue(
                session,
                job_kinds.purchases_mail_job(link.id),
                now=now,
            )
    if has_orders:
        rt.wake_worker()
    return bool(has_orders)


async def _over_limits(session: AsyncSession, key: str, client: str, now: datetime) -> bool:
    recent = (
        sa.select(sa.func.count())
        .select_from(PurchasesLink)
        .where(PurchasesLink.created_at > now - timedelta(hours=1))
    )
    by_address = await session.scalar(recent.where(PurchasesLink.email_key == key))
    by_client = await session.scalar(recent.where(PurchasesLink.client == client))
    return (by_address or 0) >= LINKS_PER_ADDRESS_PER_HOUR or (
        by_client or 0
    ) >= LINKS_PER_CLIENT_PER_HOUR


async def send_link_mail(rt: Runtime, payload: job_kinds.LinkPayload) -> None:
    """The ``purchases_mail`` job: mail the link of one request to its address."""
    async with rt.db.transaction() as session:
        link = await session.get(PurchasesLink, payload["link_id"])
        if link is None or link.email is None or link.used_at is not None:
            return  # nothing to send, or already opened: a retried job stays quiet
        if link.expires_at <= rt.clock.now():
            return  # held back past its lifetime: the buyer asks again, for a live one
        latest = await session.scalar(
            sa.select(Order)
            .where(sa.func.lower(Order.buyer_email) == link.email)
            .order_by(Order.created_at.desc())
            .limit(1)
        )
        lang = str(latest.answers.get("lang", "")) if latest is not None else ""
        context = {
            "link": f"{rt.settings.base_url}/purchases/open/{sign(rt, link.id)}",
            "expires": link.expires_at.strftime("%Y-%m-%d %H:%M"),
            "minutes": LINK_MINUTES,
        }
        address = link.email
    subject, text, html = mail.render(
        mail.environment(rt.settings),
        "purchases_link",
        lang if lang in mail.LANGUAGES else rt.settings.mail_lang,
        context,
    )
    await rt.mail.send(mail.build_message(rt.settings, [address], subject, text, html))


# --- opening it ------------------------------------------------------------------------


async def check_link(session: AsyncSession, link_id: str | None, now: datetime) -> PurchasesLink:
    """The link if it may be opened now; ``LinkRefused`` saying why otherwise."""
    link = await session.get(PurchasesLink, link_id) if link_id else None
    if link is None or link.email is None:
        raise LinkRefused(Problem.UNKNOWN)
    if link.used_at is not None:
        raise LinkRefused(Problem.USED)
    if link.expires_at <= now:
        raise LinkRefused(Problem.EXPIRED)
    return link


async def open_link(rt: Runtime, link_id: str | None) -> str:
    """Use the link up (one conditional UPDATE decides); return the session's signed id."""
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        link = await check_link(session, link_id, now)
        taken = await session.execute(
            sa.update(PurchasesLink)
            .where(
                PurchasesLink.id == link.id,
                PurchasesLink.used_at.is_(None),
                PurchasesLink.expires_at > now,
            )
            .values(used_at=now)
            .returning(PurchasesLink.id)
        )
        if taken.scalar_one_or_none() is None:
            raise LinkRefused(Problem.USED)  # a simultaneous click opened it first
    return sign(rt, link.id, salt=SESSION_SALT)


@dataclass(frozen=True)
class Visit:
    """A live purchases session: its link id and the address it may see."""

    link_id: str
    email: str


async def visit(rt: Runtime, signed_session: str | None) -> Visit | None:
    """The session behind a cookie, or None if it is missing, altered or older than 30 min."""
    link_id = unsign(rt, signed_session, salt=SESSION_SALT) if signed_session else None
    if link_id is None:
        return None
    async with rt.db.transaction() as session:
        link = await session.get(PurchasesLink, link_id)
    if link is None or link.email is None or link.used_at is None:
        return None
    if rt.clock.now() >= link.used_at + timedelta(minutes=SESSION_MINUTES):
        return None
    return Visit(link.id, link.email)


# --- what a session may do -------------------------------------------------------------


@dataclass(frozen=True)
class Purchase:
    """One order as the buyer's list shows it."""

    order_id: str
    product: str
    tier: str
    created_at: datetime
    amount: str
    payment: PaymentStatus
    fulfilment: str
    can_get_link: bool


async def list_purchases(rt: Runtime, email: str) -> Sequence[Purchase]:
    """Every order of ``email``, newest first."""
    async with rt.db.transaction() as session:
        orders = (
            await session.execute(
                sa.select(Order)
                .where(sa.func.lower(Order.buyer_email) == email)
                .order_by(Order.created_at.desc())
            )
        ).scalars()
        return [_purchase(order) for order in orders]


def _purchase(order: Order) -> Purchase:
    tier = next((t.label for t in order.product.tiers if t.tier_id == order.tier_id), "")
    return Purchase(
        order_id=order.id,
        product=order.product.title,
        tier=tier or order.tier_id,
        created_at=order.created_at,
        amount=str(order.price),
        payment=order.payment_status,
        fulfilment=order.fulfilment_status.value,
        can_get_link=_deliverable(order),
    )


def _deliverable(order: Order) -> bool:
    return (
        order.payment_status is PaymentStatus.PAID
        and order.fulfilment_status in tokens.DOWNLOADABLE
    )


async def request_download_link(rt: Runtime, visit: Visit, order_id: str) -> bool:
    """Mail a fresh download link for one of the session's orders; False if rate-limited.

    ``NotFound`` for an order that is not this address's (as for one that does not
    exist); ``ActionRefused`` for one that is not paid and delivered.
    """
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        order = await lock(session, Order, order_id)
        if order is None or order.buyer_email.lower() != visit.email:
            raise NotFound(f"no order {order_id!r} among these purchases")
        if not _deliverable(order):
            raise ActionRefused(
                f"order {order.id} has nothing to download yet "
                "(la commande n'a encore rien à télécharger)"
            )
        recent = await session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.order_id == order.id,
                AuditEvent.event == "purchases_link_requested",
                AuditEvent.created_at > now - timedelta(hours=1),
            )
        )
        granted = (recent or 0) < DOWNLOAD_LINKS_PER_ORDER_PER_HOUR
        audit(
            session,
            now=now,
            order_id=order.id,
            machine=audit_names.DOWNLOAD_LINK,
            subject_id=visit.link_id,
            event="purchases_link_requested",
            actor="buyer",
            reason="" if granted else "rate limited",
        )
        if granted:
            await enqueue(
                session,
                job_kinds.mail_job(
                    "new_link", order.id, key=f"purchases:{order.id}:{new_public_id()}"
                ),
                now=now,
            )
    if granted:
        rt.wake_worker()
    return granted
