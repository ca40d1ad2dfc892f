"""What each kind of outbox job does. Handlers re-check state, so running one twice is safe.

The kinds themselves (names, payloads, builders) are in ``job_kinds``: the domain modules
build jobs and also hold the handlers this registry imports, so the builders live apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from gated_delivery import (
    fulfilment,
    inquiries,
    job_kinds,
    mail_jobs,
    payments,
    plugins,
    purchases,
    reminders,
)
from gated_delivery.runtime import Runtime
from gated_delivery.webhooks import emit as webhook_emit
from gated_delivery.webhooks import notice as webhook_notice
from gated_delivery.webhooks import sender as webhook_sender

Handler = Callable[[Runtime, Any], Awaitable[None]]
"""Runs one job; its second argument is the payload ``job_kinds`` declares for the kind."""
#: Called once when a job of that kind runs out of tries, with the last error.
GiveUp = Callable[[Runtime, Any, str], Awaitable[None]]
#: The wait before the next try after that many failed tries, for kinds with a schedule.
RetryDelay = Callable[[int], float]


async def verify_payment(rt: Runtime, payload: job_kinds.AttemptPayload) -> None:
    """Ask the provider about one attempt and settle it."""
    await payments.verify_attempt(rt, payload["attempt_id"])


async def fulfil(rt: Runtime, payload: job_kinds.OrderPayload) -> None:
    """Start delivering a PAID order: generate, wait for staff, or publish at once."""
    await fulfilment.start(rt, payload["order_id"])


async def generate(rt: Runtime, payload: job_kinds.GeneratePayload) -> None:
    """Run the product's generator for a PAID order and store the draft."""
    await fulfilment.generate(rt, payload["order_id"], round_=int(payload.get("round", 1)))


async def event(rt: Runtime, payload: job_kinds.EventPayload) -> None:
    """Call an event hook (payment confirmed, fulfilment published, token consumed)."""
    await plugins.emit(rt.pm, payload["event"], dict(payload))


HANDLERS: Final[Mapping[str, Handler]] = {
    job_kinds.VERIFY: verify_payment,
    job_kinds.FULFIL: fulfil,
    job_kinds.GENERATE: generate,
    job_kinds.EVENT: event,
    job_kinds.MAIL: mail_jobs.send_mail,
    job_kinds.REMINDER: reminders.send_reminder,
    job_kinds.PURCHASES_MAIL: purchases.send_link_mail,
    job_kinds.DIGEST: inquiries.send_digest,
    job_kinds.WEBHOOK_DELIVERY: webhook_sender.deliver,
    job_kinds.WEBHOOK_NOTICE: webhook_notice.send_disabled_notice,
}

GIVE_UP: Final[Mapping[str, GiveUp]] = {
    job_kinds.GENERATE: fulfilment.give_up_generation,
    job_kinds.WEBHOOK_DELIVERY: webhook_sender.give_up,
}

#: Kinds that follow a published schedule instead of the default jittered backoff.
RETRY_DELAYS: Final[Mapping[str, RetryDelay]] = {
    job_kinds.WEBHOOK_DELIVERY: webhook_emit.retry_delay_seconds,
}
