"""One order's history (history.py): what the staff page and ``orders show`` both read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gated_delivery import history
from gated_delivery.errors import NotFound
from gated_delivery.models import AssetKind
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FrozenClock, make_order


async def test_a_new_order_has_only_its_creation(gd_runtime: Runtime) -> None:
    order = await make_order(gd_runtime)
    found = await history.read(gd_runtime, order.id)
    assert found.order.id == order.id
    assert (found.attempts, found.assets, found.tokens, found.jobs) == ([], [], [], [])
    assert [e.event for e in found.events] == ["created"]
    assert (found.has_final, found.open_attempts, found.has_review) == (False, 0, False)


async def test_a_published_order_shows_its_payment_file_link_and_trail(
    published_order_id: str, gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    rt = gd_runtime
    found = await history.read(rt, published_order_id)
    assert [a.state.value for a in found.attempts] == ["succeeded"]
    assert [a.filename for a in found.assets_of(AssetKind.FINAL)] == ["r.pdf"]
    assert found.has_final
    assert len(found.live_tokens(rt.clock.now())) == 1
    gd_clock.advance(timedelta(minutes=rt.settings.download_ttl_minutes + 1))
    assert found.live_tokens(rt.clock.now()) == []
    assert [e.id for e in found.events] == sorted(e.id for e in found.events)
    assert {j.kind for j in found.jobs} >= {"verify_payment"}


async def test_the_operator_view_is_plain_data(gd_runtime: Runtime) -> None:
    order = await make_order(gd_runtime, buyer_name="Awa")
    async with gd_runtime.db.transaction() as session:
        shown = await history.describe_order(session, order.id)
    assert (shown["id"], shown["payment"], shown["buyer"]["name"]) == (order.id, "unpaid", "Awa")
    assert [e["event"] for e in shown["audit"]] == ["created"]
    assert shown["draft"] is None


async def test_an_unknown_order_is_not_found(gd_runtime: Runtime) -> None:
    with pytest.raises(NotFound):
        await history.read(gd_runtime, "nope")


async def test_a_staff_download_names_only_an_order_file(
    published_order_id: str, gd_runtime: Runtime
) -> None:
    found = await history.read(gd_runtime, published_order_id)
    [final] = found.assets_of(AssetKind.FINAL)
    assert (await history.order_file(gd_runtime, final.id)).filename == "r.pdf"
    with pytest.raises(NotFound):
        await history.order_file(gd_runtime, "nope")


async def test_the_buyer_status_has_no_last_try_before_a_payment(gd_runtime: Runtime) -> None:
    order = await make_order(gd_runtime)
    shown, failed_try = await history.buyer_status(gd_runtime, order.id)
    assert (shown.id, failed_try) == (order.id, "")
    assert await history.last_try_of(gd_runtime, shown) == ""
