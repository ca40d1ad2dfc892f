"""Every kind of outbox job: its name, the shape of its payload and the function that builds it.

A change that needs work done after it commits builds its jobs here and writes them with
``jobspec.enqueue`` in its own transaction. ``jobs.handlers`` maps each name to the function
that runs it. The two are apart because of the import direction: the registry imports the
domain modules that handle jobs, and those same modules build jobs, so the builders must not
import the domain. This module imports nothing but ``jobspec``.

Payloads are stored as JSON; the ``TypedDict`` of each kind is what its builder writes and
its handler reads. Each builder also sets the dedupe key that keeps its job to one per
occurrence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal, TypedDict

from gated_delivery.jobspec import JobSpec

VERIFY: Final = "verify_payment"
FULFIL: Final = "fulfil"
GENERATE: Final = "generate"
EVENT: Final = "event"
MAIL: Final = "mail"
REMINDER: Final = "payment_reminder"
PURCHASES_MAIL: Final = "purchases_mail"
DIGEST: Final = "inquiry_digest"
WEBHOOK_DELIVERY: Final = "webhook"
WEBHOOK_NOTICE: Final = "webhook_disabled_notice"

#: Every kind, for the registry's completeness test.
ALL: Final = frozenset(
    {
        VERIFY,
        FULFIL,
        GENERATE,
        EVENT,
        MAIL,
        REMINDER,
        PURCHASES_MAIL,
        DIGEST,
        WEBHOOK_DELIVERY,
        WEBHOOK_NOTICE,
    }
)

Recipient = Literal["buyer", "admins"]


class AttemptPayload(TypedDict):
    """``verify_payment``: ask the provider where this attempt stands."""

    attempt_id: str


class OrderPayload(TypedDict):
    """``fulfil``: start delivering this PAID order."""

    order_id: str


class GeneratePayload(TypedDict):
    """``generate``: run the product's generator, round ``round`` (a staff retry adds one)."""

    order_id: str
    round: int


class _EventTarget(TypedDict):
    event: str
    order_id: str


class EventPayload(_EventTarget, total=False):
    """``event``: call the event hook ``event``; the rest are the hook's own arguments."""

    attempt_id: str
    amount: dict[str, Any]
    asset_id: str
    token_id: str
    use_count: int


class MailPayload(TypedDict):
    """``mail`` and ``payment_reminder``: send ``template`` about an order, once per ``key``."""

    template: str
    order_id: str
    to: Recipient
    key: str


class LinkPayload(TypedDict):
    """``purchases_mail``: mail a "Mes achats" link."""

    link_id: str


class DigestPayload(TypedDict):
    """``inquiry_digest``: one admin mail for the inquiries received in [since, until)."""

    since: str
    until: str


class DeliveryPayload(TypedDict):
    """``webhook``: deliver one outbound event to one endpoint."""

    event_id: str
    endpoint_id: str


class EndpointPayload(TypedDict):
    """``webhook_disabled_notice``: tell staff an endpoint was disabled."""

    endpoint_id: str


def verify_job(attempt_id: str, order_id: str, *, dedupe_key: str | None = None) -> JobSpec:
    """The job that asks the provider where an attempt stands."""
    payload: AttemptPayload = {"attempt_id": attempt_id}
    return JobSpec(VERIFY, payload, dedupe_key=dedupe_key, order_id=order_id)


def fulfil_job(order_id: str) -> JobSpec:
    """The job that starts delivering a PAID order, once per order."""
    payload: OrderPayload = {"order_id": order_id}
    return JobSpec(FULFIL, payload, dedupe_key=f"fulfil:{order_id}", order_id=order_id)


def generate_job(order_id: str, *, round_: int) -> JobSpec:
    """The generation job for one round (a staff retry starts a new round)."""
    payload: GeneratePayload = {"order_id": order_id, "round": round_}
    return JobSpec(GENERATE, payload, dedupe_key=f"generate:{order_id}:{round_}", order_id=order_id)


def event_job(event: str, order_id: str, *, key: str, **arguments: Any) -> JobSpec:
    """The job that calls an event hook once the change that caused it has committed.

    ``key`` names the occurrence (the order, the asset, the token use): one job each.
    """
    payload = {"event": event, "order_id": order_id, **arguments}
    return JobSpec(EVENT, payload, dedupe_key=f"event:{event}:{key}", order_id=order_id)


def mail_job(template: str, order_id: str, *, key: str, to: Recipient = "buyer") -> JobSpec:
    """The job that sends ``template`` about an order, once per ``key``.

    ``to`` is ``"buyer"`` (the order's own address) or ``"admins"`` (``GD_ADMIN_EMAILS``).
    """
    payload: MailPayload = {"template": template, "order_id": order_id, "to": to, "key": key}
    return JobSpec(MAIL, payload, dedupe_key=f"mail:{key}", order_id=order_id)


def reminder_job(order_id: str) -> JobSpec:
    """The reminder job of an order; its dedupe key keeps the order to one reminder, ever.

    A kind of its own, so that the handler re-checks the order; its payload is a mail job's.
    """
    key = f"reminder:{order_id}"
    payload: MailPayload = {
        "template": "payment_reminder",
        "order_id": order_id,
        "to": "buyer",
        "key": key,
    }
    return JobSpec(REMINDER, payload, dedupe_key=f"mail:{key}", order_id=order_id)


def purchases_mail_job(link_id: str) -> JobSpec:
    """The job that mails a new "Mes achats" link, once per link."""
    payload: LinkPayload = {"link_id": link_id}
    return JobSpec(PURCHASES_MAIL, payload, dedupe_key=f"purchases:{link_id}")


def digest_job(since: str, until: str, *, run_after: datetime) -> JobSpec:
    """The admin digest of one period, written once per period and run at its end."""
    payload: DigestPayload = {"since": since, "until": until}
    return JobSpec(DIGEST, payload, dedupe_key=f"{DIGEST}:{since}", run_after=run_after)


def webhook_delivery_job(
    event_id: str, endpoint_id: str, order_id: str | None, *, tries: int, again: str = ""
) -> JobSpec:
    """The job delivering one event to one endpoint; ``again`` names a replay."""
    key = f"webhook:{event_id}:{endpoint_id}" + (f":again:{again}" if again else "")
    payload: DeliveryPayload = {"event_id": event_id, "endpoint_id": endpoint_id}
    return JobSpec(WEBHOOK_DELIVERY, payload, dedupe_key=key, order_id=order_id, max_attempts=tries)


def webhook_notice_job(endpoint_id: str, *, when: str) -> JobSpec:
    """The staff mail saying an endpoint was disabled, once per disabling."""
    payload: EndpointPayload = {"endpoint_id": endpoint_id}
    return JobSpec(WEBHOOK_NOTICE, payload, dedupe_key=f"webhook-disabled:{endpoint_id}:{when}")
