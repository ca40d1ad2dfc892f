"""A paid CinetPay order refunded through the staff page: CinetPay has no refund call, so the
refund is only recorded, and the page says so (refunds.py, the staff order page)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
import sqlalchemy as sa

from gated_delivery import staff_accounts
from gated_delivery.models import AuditEvent, Order
from gated_delivery.plugin_types import ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState, PaymentStatus

from ..conftest import V1Control
from ..helpers import post, start

RunJobs = Callable[[], Awaitable[int]]
EMAIL, PASSWORD = "lea@example.org", "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def log_in(client: httpx.AsyncClient, rt: Runtime) -> None:
    await staff_accounts.create_account(rt, EMAIL, PASSWORD, display_name="Léa")
    page = await client.get("/staff/login")
    form = {"email": EMAIL, "password": PASSWORD, "csrf": csrf_of(page.text)}
    assert (await client.post("/staff/login", data=form)).status_code == 303


async def test_a_paid_cinetpay_order_refunded_on_the_staff_page_is_only_recorded(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_order: Order,
    gd_provider_control: V1Control,
    gd_run_jobs: RunJobs,
) -> None:
    attempt = await start(gd_client, gd_runtime, gd_order)
    await gd_provider_control.settle(attempt, ReportedStatus.SUCCEEDED)
    await post(gd_client, await gd_provider_control.notification(attempt))
    await gd_run_jobs()
    await log_in(gd_client, gd_runtime)
    page = await gd_client.get(f"/staff/orders/{gd_order.id}")
    assert f"/staff/orders/{gd_order.id}/refund" in page.text
    forged = await gd_client.post(
        f"/staff/orders/{gd_order.id}/refund", data={"csrf": "x", "reason": "buyer cancelled"}
    )
    assert forged.status_code == 403
    refunded = await gd_client.post(
        f"/staff/orders/{gd_order.id}/refund",
        data={"csrf": csrf_of(page.text), "reason": "buyer cancelled"},
        follow_redirects=True,
    )
    assert refunded.status_code == 200
    assert "Remboursement enregistré seulement" in refunded.text
    async with gd_runtime.db.transaction() as session:
        order = await session.get(Order, gd_order.id)
        assert order is not None
        assert order.payment_status is PaymentStatus.REFUNDED
        assert order.fulfilment_status is FulfilmentState.REVOKED
        reasons = (
            await session.execute(
                sa.select(AuditEvent.reason).where(
                    AuditEvent.order_id == gd_order.id, AuditEvent.to_state == "refunded"
                )
            )
        ).scalars()
        assert any(r.startswith("recorded: buyer cancelled") for r in reasons)
