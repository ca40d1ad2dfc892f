""" "Mes achats" through the routes (web/purchases.py, purchases.py): links, limits, sessions."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
import sqlalchemy as sa
from tests.web.test_download import mails

from gated_delivery import purchases
from gated_delivery.catalogue import upsert_product
from gated_delivery.models import Asset, AssetKind, Order, Product, PurchasesLink
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, FrozenClock, pay_with_fake
from gated_delivery.web.app import create_app

RunJobs = Callable[[], Awaitable[int]]
GUIDE = b"%PDF-1.4\n% the guide\n%%EOF\n"
HTML = {"accept": "text/html"}


def link_in(message: EmailMessage, path: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(rf"http://testserver({path}\S+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)


async def _chunks() -> AsyncIterator[bytes]:
    yield GUIDE


async def make_order(rt: Runtime, buyer: str, slug: str = "guide") -> Order:
    """An unpaid order of a product delivered at once (made on first use, with its file)."""
    async with rt.db.transaction() as session:
        existing = await session.scalar(sa.select(Product).where(Product.slug == slug))
        if existing is None:
            product, _ = await upsert_product(
                session,
                slug=slug,
                title=slug.capitalize(),
                tier_id="std",
                tier_label="Standard",
                price=Money(5000, "XOF"),
            )
            stored = await rt.storage.save(f"products/{slug}", _chunks())
            session.add(
                Asset(
                    product_id=product.id,
                    kind=AssetKind.PRODUCT_FILE,
                    storage="local",
                    key=stored.key,
                    filename=f"{slug}.pdf",
                    media_type="application/pdf",
                    size_bytes=stored.size_bytes,
                    sha256=stored.sha256,
                    created_at=rt.clock.now(),
                )
            )
        return await create_order(
            session,
            product_slug=slug,
            tier_id="std",
            buyer_email=buyer,
            buyer_name="Awa Ndiaye",
            now=rt.clock.now(),
        )


@pytest.fixture
async def two_paid(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> list[Order]:
    """Two paid, delivered orders of awa@example.org, and one of someone else."""
    orders = [
        await make_order(gd_runtime, "awa@example.org", "guide"),
        await make_order(gd_runtime, "Awa@Example.org", "modele"),
        await make_order(gd_runtime, "moussa@example.org", "guide"),
    ]
    for order in orders:
        await pay_with_fake(gd_client, gd_fake_provider, order.id, gd_run_jobs)
    return orders


async def ask(client: httpx.AsyncClient, address: str) -> httpx.Response:
    return await client.post("/purchases", data={"email": address}, headers=HTML)


async def open_purchases(
    client: httpx.AsyncClient, rt: Runtime, run_jobs: RunJobs, address: str
) -> str:
    """Ask for the link, let the worker mail it, open it; returns the link's path."""
    before = len(mails(rt.settings))
    assert (await ask(client, address)).status_code == 200
    await run_jobs()
    [message] = mails(rt.settings)[before:]
    assert message["To"] == address.lower()
    url = link_in(message, "/purchases/open/")
    opened = await client.post(url)
    assert opened.status_code == 303
    assert opened.headers["location"] == "/purchases/orders"
    return url


async def form_token_of(client: httpx.AsyncClient) -> str:
    """The form token on the session's list of orders."""
    page = await client.get("/purchases/orders")
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


async def test_the_mailed_link_opens_both_orders_and_resends_a_download_link(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_run_jobs: RunJobs, two_paid: list[Order]
) -> None:
    form = await gd_client.get("/purchases")
    assert form.status_code == 200
    assert "Mes achats" in form.text
    await open_purchases(gd_client, gd_runtime, gd_run_jobs, "AWA@example.org")
    cookie = gd_client.cookies.jar
    assert any(c.name == "gd_purchases" and c.path == "/purchases" for c in cookie)
    page = await gd_client.get("/purchases/orders")
    assert page.status_code == 200
    assert two_paid[0].id in page.text
    assert two_paid[1].id in page.text
    assert two_paid[2].id not in page.text  # someone else's
    assert "Guide" in page.text
    assert "Modele" in page.text
    assert "5000 XOF" in page.text or "5 000 XOF" in page.text
    assert "payé" in page.text
    assert "livrée" in page.text or "prête" in page.text
    token = await form_token_of(gd_client)
    before = len(mails(gd_runtime.settings))
    sent = await gd_client.post(
        f"/purchases/orders/{two_paid[1].id}/link", data={"form_token": token}
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/purchases/orders?sent={two_paid[1].id}"
    await gd_run_jobs()
    [message] = mails(gd_runtime.settings)[before:]
    assert message["To"] == "Awa@Example.org"  # the order's own address
    download = link_in(message, "/download/")
    got = await gd_client.post(download)
    assert got.status_code == 200
    assert got.content == GUIDE


async def test_known_and_unknown_addresses_get_the_same_answer(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_run_jobs: RunJobs, two_paid: list[Order]
) -> None:
    before = len(mails(gd_runtime.settings))
    known = await ask(gd_client, "awa@example.org")
    unknown = await ask(gd_client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert abs(len(known.content) - len(unknown.content)) <= 4
    assert known.text == unknown.text
    assert known.headers["cache-control"] == unknown.headers["cache-control"] == "no-store"
    await gd_run_jobs()
    assert [m["To"] for m in mails(gd_runtime.settings)[before:]] == ["awa@example.org"]
    async with gd_runtime.db.transaction() as session:
        rows = list((await session.execute(sa.select(PurchasesLink))).scalars())
    # nothing of the unknown address is kept but a keyed hash
    assert sorted(str(r.email) for r in rows) == ["None", "awa@example.org"]
    assert all("nobody" not in r.email_key for r in rows)


async def test_a_bad_address_is_refused_with_the_form_again(gd_client: httpx.AsyncClient) -> None:
    response = await ask(gd_client, "pas une adresse")
    assert response.status_code == 400
    assert "n&#39;est pas valide" in response.text
    assert 'value="pas une adresse"' in response.text


async def test_links_are_rate_limited_per_address_and_per_client(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
    two_paid: list[Order],
) -> None:
    before = len(mails(gd_runtime.settings))
    for _ in range(purchases.LINKS_PER_ADDRESS_PER_HOUR + 2):
        assert (await ask(gd_client, "awa@example.org")).status_code == 200
    await gd_run_jobs()
    sent = mails(gd_runtime.settings)[before:]
    assert len(sent) == purchases.LINKS_PER_ADDRESS_PER_HOUR
    # the same client trying many addresses is stopped too (the rest are unknown ones)
    for n in range(purchases.LINKS_PER_CLIENT_PER_HOUR):
        await ask(gd_client, f"someone{n}@example.org")
    gd_clock.advance(timedelta(minutes=61))
    await ask(gd_client, "moussa@example.org")  # an hour later: allowed again
    await gd_run_jobs()
    assert [m["To"] for m in mails(gd_runtime.settings)[before + len(sent) :]] == [
        "moussa@example.org"
    ]


async def test_the_client_limit_stops_a_client_before_any_address_limit(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_run_jobs: RunJobs, two_paid: list[Order]
) -> None:
    for n in range(purchases.LINKS_PER_CLIENT_PER_HOUR):
        await ask(gd_client, f"someone{n}@example.org")
    before = len(mails(gd_runtime.settings))
    assert (await ask(gd_client, "awa@example.org")).status_code == 200
    await gd_run_jobs()
    assert mails(gd_runtime.settings)[before:] == []


async def test_expired_reused_and_tampered_links_get_clear_pages(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
    two_paid: list[Order],
) -> None:
    url = await open_purchases(gd_client, gd_runtime, gd_run_jobs, "awa@example.org")
    reused = await gd_client.post(url, headers=HTML)
    assert reused.status_code == 410
    assert "déjà servi" in reused.text
    assert (await gd_client.get(url, headers=HTML)).status_code == 410
    tampered = await gd_client.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB"))
    assert tampered.status_code == 404
    assert "Lien inconnu" in tampered.text
    # a download link's signature is no purchases link (each has its salt)
    other = await gd_client.get(f"/purchases/open/{purchases.sign(gd_runtime, 'x', salt='z')}")
    assert other.status_code == 404

    await ask(gd_client, "awa@example.org")
    await gd_run_jobs()
    late = link_in(mails(gd_runtime.settings)[-1], "/purchases/open/")
    page = await gd_client.get(late)
    assert page.status_code == 200  # GET (a mail scanner) uses nothing
    assert "Voir mes achats" in page.text
    gd_clock.advance(timedelta(minutes=purchases.LINK_MINUTES, seconds=1))
    expired = await gd_client.post(late, headers=HTML)
    assert expired.status_code == 410
    assert "expiré" in expired.text
    assert "Demander un nouveau lien" in expired.text


async def test_the_session_ends_after_30_minutes_and_needs_its_cookie(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
    two_paid: list[Order],
) -> None:
    assert (await gd_client.get("/purchases/orders", headers=HTML)).status_code == 401
    await open_purchases(gd_client, gd_runtime, gd_run_jobs, "awa@example.org")
    gd_clock.advance(timedelta(minutes=purchases.SESSION_MINUTES - 1))
    assert (await gd_client.get("/purchases/orders")).status_code == 200
    gd_clock.advance(timedelta(minutes=1))
    ended = await gd_client.get("/purchases/orders", headers=HTML)
    assert ended.status_code == 401
    assert "pris fin" in ended.text
    forged = purchases.sign(gd_runtime, "made-up-link-id", salt=purchases.SESSION_SALT)
    gd_client.cookies.set("gd_purchases", forged, path="/purchases")
    assert (await gd_client.get("/purchases/orders")).status_code == 401


async def test_a_session_cannot_reach_another_address_or_anything_else(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_run_jobs: RunJobs,
    gd_fake_provider: FakeProvider,
    two_paid: list[Order],
) -> None:
    await open_purchases(gd_client, gd_runtime, gd_run_jobs, "awa@example.org")
    token = await form_token_of(gd_client)
    before = len(mails(gd_runtime.settings))
    for forged in (two_paid[2].id, "A" * 22, "../../staff"):
        response = await gd_client.post(
            f"/purchases/orders/{forged}/link", data={"form_token": token}, headers=HTML
        )
        assert response.status_code == 404, forged
    # without the form token nothing is sent either
    response = await gd_client.post(
        f"/purchases/orders/{two_paid[0].id}/link", data={"form_token": "0" * 64}
    )
    assert response.status_code == 403
    unpaid = await make_order(gd_runtime, "awa@example.org", "guide")
    response = await gd_client.post(
        f"/purchases/orders/{unpaid.id}/link", data={"form_token": token}, headers=HTML
    )
    assert response.status_code == 409
    await gd_run_jobs()
    assert mails(gd_runtime.settings)[before:] == []
    # the session opens nothing outside /purchases
    assert (await gd_client.get("/staff/", follow_redirects=False)).status_code in (302, 303)


async def test_fresh_download_links_are_rate_limited_per_order(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_run_jobs: RunJobs, two_paid: list[Order]
) -> None:
    await open_purchases(gd_client, gd_runtime, gd_run_jobs, "awa@example.org")
    token = await form_token_of(gd_client)
    locations = []
    for _ in range(purchases.DOWNLOAD_LINKS_PER_ORDER_PER_HOUR + 1):
        response = await gd_client.post(
            f"/purchases/orders/{two_paid[0].id}/link", data={"form_token": token}
        )
        locations.append(response.headers["location"].split("?")[1].split("=")[0])
    assert locations == ["sent"] * purchases.DOWNLOAD_LINKS_PER_ORDER_PER_HOUR + ["limited"]
    limited = await gd_client.get(f"/purchases/orders?limited={two_paid[0].id}")
    assert "Trop de demandes" in limited.text


async def test_a_revoked_order_lists_without_a_button_and_stays_revoked(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_run_jobs: RunJobs, two_paid: list[Order]
) -> None:
    from gated_delivery import delivery

    await delivery.revoke(gd_runtime, two_paid[0].id, actor="staff:test", reason="chargeback")
    await open_purchases(gd_client, gd_runtime, gd_run_jobs, "awa@example.org")
    page = await gd_client.get("/purchases/orders")
    assert page.text.count("/link") == 1  # the other order only
    assert "annulée" in page.text


async def test_purchases_can_be_turned_off(gd_runtime: Runtime) -> None:
    settings = gd_runtime.settings.model_copy(update={"purchases_enabled": False})
    rt = type(gd_runtime)(**{**gd_runtime.__dict__, "settings": settings})
    app = create_app(runtime=rt, run_worker=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/purchases")).status_code == 404
        assert (await client.post("/purchases", data={"email": "a@b.org"})).status_code == 404


async def test_simultaneous_clicks_open_a_link_once(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, gd_run_jobs: RunJobs, two_paid: list[Order]
) -> None:
    await ask(gd_client, "awa@example.org")
    await gd_run_jobs()
    url = link_in(mails(gd_runtime.settings)[-1], "/purchases/open/")
    answers = await asyncio.gather(*(gd_client.post(url) for _ in range(10)))
    assert sorted(r.status_code for r in answers) == [303] + [410] * 9


async def test_a_link_held_back_past_its_lifetime_is_not_sent(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
    two_paid: list[Order],
) -> None:
    before = len(mails(gd_runtime.settings))
    await ask(gd_client, "awa@example.org")
    gd_clock.advance(timedelta(minutes=purchases.LINK_MINUTES))  # the mail server was down
    await gd_run_jobs()
    assert mails(gd_runtime.settings)[before:] == []
