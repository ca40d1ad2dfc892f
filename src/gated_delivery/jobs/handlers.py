"""What each kind of outbox job does. Handlers re-check state, so running one twice is safe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from gated_delivery import (
    delivery,
    fulfilment,
    inquiries,
    intake,
    mail,
    payments,
    plugins,
    purchases,
    reminders,
)
from gated_delivery.runtime import Runtime
from gated_delivery.webhooks import emit as webhook_emit
from gated_delivery.webhooks import notice as webhook_notice
from gated_delivery.webhooks import sender as webhook_sender

Handler = Callable[[Runtime, dict[str, Any]], Awaitable[None]]
#: Called once when a job of that kind runs out of tries, with the last error.
GiveUp = Callable[[Runtime, dict[str, Any], str], Awaitable[None]]
#: The wait before the next try after that many failed tries, for kinds with a schedule.
RetryDelay = Callable[[int], float]


async def verify_payment(rt: Runtime, payload: dict[str, Any]) -> None:
    """Ask the provider about one attempt and settle it."""
    await payments.verify_attempt(rt, payload["attempt_id"])


async def fulfil(rt: Runtime, payload: dict[str, Any]) -> None:
    """Start delivering a PAID order: generate, wait for staff, or publish at once."""
    await fulfilment.start(rt, payload["order_id"])


async def generate(rt: Runtime, payload: dict[str, Any]) -> None:
    """Run the product's generator for a PAID order and store the draft."""
    await fulfilment.generate(rt, payload["order_id"], round_=int(payload.get("round", 1)))


async def event(rt: Runtime, payload: dict[str, Any]) -> None:
    """Call an event hook (payment confirmed, fulfilment published, token consumed)."""
    await plugins.emit(rt.pm, payload["event"], payload)


HANDLERS: Final[Mapping[str, Handler]] = {
    intake.VERIFY_JOB: verify_payment,
    payments.FULFIL_JOB: fulfil,
    fulfilment.GENERATE_JOB: generate,
    payments.EVENT_JOB: event,
    mail.MAIL_JOB: delivery.send_mail,
    reminders.REMINDER_JOB: reminders.send_reminder,
    purchases.PURCHASES_MAIL_JOB: purchases.send_link_mail,
    inquiries.DIGEST_JOB: inquiries.send_digest,
    webhook_emit.DELIVER_JOB: webhook_sender.deliver,
    webhook_sender.NOTICE_JOB: webhook_notice.send_disabled_notice,
}

GIVE_UP: Final[Mapping[str, GiveUp]] = {
    fulfilment.GENERATE_JOB: fulfilment.give_up_generation,
    webhook_emit.DELIVER_JOB: webhook_sender.give_up,
}

#: Kinds that follow a published schedule instead of the default jittered backoff.
RETRY_DELAYS: Final[Mapping[str, RetryDelay]] = {
    webhook_emit.DELIVER_JOB: webhook_emit.retry_delay_seconds,
}
