"""Refused notifications: audited and logged, but not without limit from one client.

Anyone can post garbage to a notify route. Each refusal used to write an audit row and a
WARNING line, so a burst filled both. Now the first ``LOGGED_PER_CLIENT`` refusals from
one client address in ``WINDOW`` are audited and logged one by one; the next ones are only
counted, and the count is logged with the next refusal that is (after the window).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from gated_delivery import throttle
from gated_delivery.payments import audit_rejection
from gated_delivery.runtime import Runtime
from gated_delivery.staff_accounts import keyed_hash

log = logging.getLogger("gated_delivery.web.notify")

LOGGED_PER_CLIENT: Final = 10
WINDOW: Final = timedelta(minutes=10)


async def record_rejection(
    rt: Runtime, provider: str, reason: str, order_hint: str | None, client_ip: str
) -> bool:
    """Audit and log one refused notification, unless its client is past the limit.

    Returns whether it was recorded (False: only counted).
    """
    key = "notify-rejected:" + keyed_hash(rt, "notify-rejected", client_ip)
    rule = throttle.Rule(key, LOGGED_PER_CLIENT, WINDOW, throttle.fixed(WINDOW), scope="client")
    async with rt.db.transaction() as session:
        taken = await throttle.take(session, [rule], now=rt.clock.now())
    if not taken.allowed:
        return False
    more = f" ({taken.refused_before} more from the same client not logged)"
    log.warning("notification refused: %s%s", reason, more if taken.refused_before else "")
    if taken.started:
        log.warning(
            "%s notifications from one client rejected; the next ones for %s min are "
            "counted, not logged one by one",
            LOGGED_PER_CLIENT,
            int(WINDOW.total_seconds() // 60),
        )
    await audit_rejection(rt, provider, reason, order_hint)
    return True
