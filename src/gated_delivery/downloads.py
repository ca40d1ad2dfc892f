"""A buyer's download: check a link without using it, or take one use of it.

Taking a use moves the order's fulfilment to DELIVERED on its first download and tells the
shop's systems (an event job), in the same transaction as the use itself.
"""

from __future__ import annotations

from gated_delivery import job_kinds, tokens
from gated_delivery.db import lock
from gated_delivery.fulfilment import move
from gated_delivery.models import Order
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState
from gated_delivery.transitions import enqueue


async def check_link(rt: Runtime, token_id: str | None) -> tokens.Grant:
    """What the link would give now, without using it; ``tokens.LinkRefused`` if nothing."""
    async with rt.db.transaction() as session:
        return await tokens.check(session, token_id, rt.clock.now())


async def record_download(
    rt: Runtime, token_id: str | None, evidence: dict[str, str] | None
) -> tokens.Grant:
    """Take one use of the link (``tokens.LinkRefused`` if it has none left) and record it.

    ``evidence`` is kept with the use (the stamped copy's digest, when there is one).
    """
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        grant = await tokens.consume(session, token_id, now, evidence)
        order = await lock(session, Order, grant.order.id)
        assert order is not None  # the link's order is never deleted
        if order.fulfilment_status is FulfilmentState.PUBLISHED:
            await move(
                rt,
                session,
                order,
                FulfilmentState.DELIVERED,
                actor="buyer",
                reason="first download",
            )
        use = grant.token.use_count
        job = job_kinds.event_job(
            "download_token_consumed",
            order.id,
            key=f"{grant.token.id}:{use}",
            token_id=grant.token.id,
            use_count=use,
        )
        await enqueue(session, job, now=now)
    rt.wake_worker()
    return grant
