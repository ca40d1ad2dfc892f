"""Fixtures of the core's own tests; the ``gd_*`` fixtures come from gated_delivery.testing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from gated_delivery import delivery
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeControl, FakeProvider, make_order, pay_with_fake


@pytest.fixture
def gd_provider_control(gd_fake_provider: FakeProvider) -> FakeControl:
    """The contract's control over the fake provider."""
    return FakeControl(gd_fake_provider)


async def _final_pdf() -> AsyncIterator[bytes]:
    yield b"%PDF-1.7 the final report"


@pytest.fixture
async def published_order_id(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: Callable[[], Awaitable[int]],
) -> str:
    """The id of an order paid, given its final ``r.pdf`` by staff and published; the link
    mail has been written."""
    order = await make_order(gd_runtime, requires_review=True)
    await pay_with_fake(gd_client, gd_fake_provider, order.id, gd_run_jobs)
    await delivery.upload_final(
        gd_runtime,
        order.id,
        _final_pdf(),
        filename="r.pdf",
        media_type="application/pdf",
        actor="staff:t",
    )
    await delivery.publish(gd_runtime, order.id, actor="staff:t")
    await gd_run_jobs()  # the link mail's job issues the link
    return order.id
