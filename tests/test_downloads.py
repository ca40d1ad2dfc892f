"""Taking a download: the use, the first download's DELIVERED, the event job, the refusals."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gated_delivery import downloads, tokens
from gated_delivery.models import Job, Order
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState
from gated_delivery.testing import download_link


@pytest.fixture
def link(gd_runtime: Runtime, published_order_id: str) -> tuple[str, str]:
    """A published order's id and its link's token id."""
    signed = download_link(gd_runtime.settings.mail_dir).rsplit("/", 1)[1]
    return published_order_id, str(tokens.unsign(gd_runtime.settings, signed))


async def fulfilment_and_events(rt: Runtime, order_id: str) -> tuple[FulfilmentState, list[str]]:
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        keys = (
            await session.execute(
                sa.select(Job.dedupe_key).where(Job.order_id == order_id).order_by(Job.id)
            )
        ).scalars()
        return order.fulfilment_status, [k for k in keys if k and "download_token_consumed" in k]


async def test_checking_a_link_uses_nothing(gd_runtime: Runtime, link: tuple[str, str]) -> None:
    order_id, token_id = link
    grant = await downloads.check_link(gd_runtime, token_id)
    assert (grant.order.id, grant.token.use_count) == (order_id, 0)
    assert (await fulfilment_and_events(gd_runtime, order_id))[0] is FulfilmentState.PUBLISHED


async def test_the_first_download_delivers_and_is_told(
    gd_runtime: Runtime, link: tuple[str, str]
) -> None:
    order_id, token_id = link
    grant = await downloads.record_download(gd_runtime, token_id, {"stamped_sha256": "ab"})
    assert grant.token.use_count == 1
    state, events = await fulfilment_and_events(gd_runtime, order_id)
    assert state is FulfilmentState.DELIVERED
    assert len(events) == 1


async def test_a_used_up_link_is_refused_and_records_nothing(
    gd_runtime: Runtime, link: tuple[str, str]
) -> None:
    order_id, token_id = link
    await downloads.record_download(gd_runtime, token_id, None)
    before = await fulfilment_and_events(gd_runtime, order_id)
    with pytest.raises(tokens.LinkRefused) as refused:
        await downloads.record_download(gd_runtime, token_id, None)
    assert refused.value.problem is tokens.Problem.USED_UP
    assert await fulfilment_and_events(gd_runtime, order_id) == before


async def test_an_unknown_link_is_refused(gd_runtime: Runtime) -> None:
    with pytest.raises(tokens.LinkRefused) as refused:
        await downloads.check_link(gd_runtime, None)
    assert refused.value.problem is tokens.Problem.UNKNOWN
