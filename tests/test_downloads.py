"""Taking a download: the use, the first download's DELIVERED, the event job, the refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import sqlalchemy as sa

from gated_delivery import delivery, downloads, tokens
from gated_delivery.models import Job, Order
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState
from gated_delivery.testing import FakeProvider, download_link, make_order, pay_with_fake

RunJobs = Callable[[], Awaitable[int]]


async def _pdf() -> AsyncIterator[bytes]:
    yield b"%PDF-1.7 the report"


@pytest.fixture
async def link(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> tuple[str, str]:
    """A paid order reviewed and published: its id and its link's token id."""
    rt = gd_runtime
    order = await make_order(rt, requires_review=True)
    await pay_with_fake(gd_client, gd_fake_provider, order.id, gd_run_jobs)
    await delivery.upload_final(
        rt, order.id, _pdf(), filename="r.pdf", media_type="application/pdf", actor="staff:t"
    )
    await delivery.publish(rt, order.id, actor="staff:t")
    await gd_run_jobs()
    signed = download_link(rt.settings.mail_dir).rsplit("/", 1)[1]
    return order.id, str(tokens.unsign(rt.settings, signed))


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
