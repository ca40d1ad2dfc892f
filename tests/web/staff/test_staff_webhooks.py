"""The staff pages of webhook endpoints (web/staff/webhooks.py)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
import sqlalchemy as sa

from gated_delivery import staff_accounts
from gated_delivery.models import AuditEvent, Job, Product, WebhookEndpoint
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime
from gated_delivery.webhooks import endpoints, signing

from .conftest import STAFF_EMAIL, csrf_of

RunJobs = Callable[[], Awaitable[int]]
URL = "https://crm.example.org/hooks"


async def make_admin(rt: Runtime) -> None:
    await staff_accounts.set_admin(rt, STAFF_EMAIL, True)


async def stored(rt: Runtime) -> list[WebhookEndpoint]:
    async with rt.db.transaction() as session:
        return list((await session.execute(sa.select(WebhookEndpoint))).scalars())


async def test_only_admins_see_the_webhook_pages(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    refused = await staff_client.get("/staff/webhooks")
    assert refused.status_code == 403
    assert "Webhooks" not in (await staff_client.get("/staff/")).text
    await make_admin(gd_runtime)
    page = await staff_client.get("/staff/webhooks")
    assert page.status_code == 200
    assert 'href="/staff/webhooks"' in (await staff_client.get("/staff/")).text


async def test_logged_out_visitors_go_to_the_login_page(gd_client: httpx.AsyncClient) -> None:
    response = await gd_client.get("/staff/webhooks")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")


async def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    await make_admin(gd_runtime)
    page = await staff_client.get("/staff/webhooks")
    added = await staff_client.post(
        "/staff/webhooks",
        data={
            "csrf": csrf_of(page.text),
            "url": URL,
            "description": "CRM",
            "event:order.paid": "1",
            "event:order.refunded": "1",
        },
    )
    assert added.status_code == 200, added.text
    secret = re.search(r'<code id="secret">(whsec_[^<]+)</code>', added.text)
    assert secret, added.text
    assert signing.secret_bytes(secret.group(1))
    (endpoint,) = await stored(gd_runtime)
    assert endpoint.event_types == ["order.paid", "order.refunded"]
    again = await staff_client.get(f"/staff/webhooks/{endpoint.id}")
    assert secret.group(1) not in again.text
    assert URL in (await staff_client.get("/staff/webhooks")).text
    async with gd_runtime.db.transaction() as session:
        actors = (
            await session.execute(
                sa.select(AuditEvent.actor).where(AuditEvent.subject_id == endpoint.id)
            )
        ).scalars()
        assert list(actors) == [f"staff:{STAFF_EMAIL}"]


async def test_a_bad_url_or_no_event_is_refused_and_nothing_added(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    await make_admin(gd_runtime)
    page = await staff_client.get("/staff/webhooks")
    token = csrf_of(page.text)
    plain = await staff_client.post(
        "/staff/webhooks",
        data={"csrf": token, "url": "http://crm.example.org/h", "event:order.paid": "1"},
    )
    assert plain.status_code == 400
    assert "only https://" in plain.text
    none = await staff_client.post("/staff/webhooks", data={"csrf": token, "url": URL})
    assert none.status_code == 400
    assert "at least one event type" in none.text
    forged = await staff_client.post("/staff/webhooks", data={"url": URL, "event:order.paid": "1"})
    assert forged.status_code == 403
    assert await stored(gd_runtime) == []


async def test_the_log_shows_each_try_and_send_again_queues_the_event(
    staff_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_product: Product,
    gd_run_jobs: RunJobs,
) -> None:
    await make_admin(gd_runtime)
    gd_runtime.settings = gd_runtime.settings.model_copy(update={"webhooks_allow_private": False})
    endpoint, _secret = await endpoints.add(
        gd_runtime, "https://127.0.0.1/hooks", ["order.created"], actor="test"
    )
    async with gd_runtime.db.transaction() as session:
        await create_order(
            session,
            product_slug=gd_product.slug,
            tier_id="std",
            buyer_email="awa@example.org",
            now=gd_runtime.clock.now(),
        )
    await gd_run_jobs()
    page = await staff_client.get(f"/staff/webhooks/{endpoint.id}")
    assert "refused: 127.0.0.1 resolves to 127.0.0.1" in page.text
    event_id = re.search(r'name="event_id" value="(evt_\w+)"', page.text)
    assert event_id, page.text
    sent = await staff_client.post(
        f"/staff/webhooks/{endpoint.id}/send-again",
        data={"csrf": csrf_of(page.text), "event_id": event_id.group(1)},
    )
    assert sent.status_code == 303
    async with gd_runtime.db.transaction() as session:
        queued = (await session.execute(sa.select(Job).where(Job.kind == "webhook"))).scalars()
        assert len(list(queued)) == 2


async def test_disable_enable_rotate_and_remove(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    await make_admin(gd_runtime)
    endpoint, old = await endpoints.add(gd_runtime, URL, ["all"], actor="test")
    path = f"/staff/webhooks/{endpoint.id}"
    token = csrf_of((await staff_client.get(path)).text)
    assert (await staff_client.post(f"{path}/disable", data={"csrf": token})).status_code == 303
    assert not (await stored(gd_runtime))[0].is_active
    twice = await staff_client.post(f"{path}/disable", data={"csrf": token})
    assert twice.status_code == 409
    assert "already disabled" in twice.text
    assert (await staff_client.post(f"{path}/enable", data={"csrf": token})).status_code == 303
    rotated = await staff_client.post(f"{path}/rotate-secret", data={"csrf": token})
    new = re.search(r'<code id="secret">(whsec_[^<]+)</code>', rotated.text)
    assert new, rotated.text
    assert new.group(1) != old
    bad_range = await staff_client.post(
        f"{path}/send-again-range", data={"csrf": token, "since": "yesterday", "until": ""}
    )
    assert bad_range.status_code == 409
    removed = await staff_client.post(f"{path}/remove", data={"csrf": token})
    assert removed.status_code == 303
    assert await stored(gd_runtime) == []


async def test_the_done_notice_names_only_an_action_of_the_page(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    await make_admin(gd_runtime)
    endpoint, _secret = await endpoints.add(gd_runtime, URL, ["all"], actor="test")
    path = f"/staff/webhooks/{endpoint.id}"
    token = csrf_of((await staff_client.get(path)).text)
    done = await staff_client.post(f"{path}/disable", data={"csrf": token}, follow_redirects=True)
    assert "(disable)" in done.text
    # a crafted link cannot put its own words on a trusted page
    crafted = await staff_client.get(path, params={"done": "Appelez le 77 000 00 00"})
    assert crafted.status_code == 200
    assert "Appelez" not in crafted.text
    assert 'class="notice" role="status"' not in crafted.text
