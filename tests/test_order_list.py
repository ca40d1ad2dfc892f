"""The staff orders list (order_list.py): filters, search, pages and the figures beside it."""

from __future__ import annotations

from gated_delivery import order_list
from gated_delivery.runtime import Runtime
from gated_delivery.states import PaymentStatus
from gated_delivery.testing import make_order


async def test_orders_come_newest_first_and_are_searched_literally(gd_runtime: Runtime) -> None:
    first = await make_order(gd_runtime, buyer_email="awa_1@example.org")
    second = await make_order(gd_runtime, "guide", buyer_email="binta@example.org")
    everything = await order_list.find_orders(gd_runtime, order_list.OrderFilter(), 1)
    assert {o.id for o in everything.orders} == {first.id, second.id}
    assert (everything.matching, everything.pages) == (2, 1)
    assert everything.products == ["guide", "rapport"]
    assert everything.by_payment == {PaymentStatus.UNPAID: 2}
    wanted = order_list.OrderFilter(q="A_1")  # "_" is a letter here, not a wildcard
    assert [o.id for o in (await order_list.find_orders(gd_runtime, wanted, 1)).orders] == [
        first.id
    ]
    by_product = order_list.OrderFilter(product="guide", payment=PaymentStatus.UNPAID)
    assert [o.id for o in (await order_list.find_orders(gd_runtime, by_product, 1)).orders] == [
        second.id
    ]
    paid = order_list.OrderFilter(payment=PaymentStatus.PAID)
    assert (await order_list.find_orders(gd_runtime, paid, 1)).matching == 0
