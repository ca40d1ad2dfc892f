"""Download links end to end (web/download.py, tokens.py, delivery.py)."""

from __future__ import annotations

import asyncio
import email
import logging
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from gated_delivery import delivery
from gated_delivery.catalogue import upsert_product
from gated_delivery.config import CoreSettings
from gated_delivery.errors import ActionRefused
from gated_delivery.models import Asset, AssetKind, AuditEvent, DownloadToken, Job, Order
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState, PaymentStatus
from gated_delivery.testing import FakeProvider, FrozenClock, pay_with_fake

RunJobs = Callable[[], Awaitable[int]]
GUIDE = b"%PDF-1.7\n" + b"guide " * 5000


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def mails(settings: CoreSettings) -> list[email.message.EmailMessage]:
    folder = settings.mail_dir
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for f in files
    ]


def link_in(message: email.message.EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"http://testserver(/download/\S+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)


@pytest.fixture
async def paid_guide(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> Order:
    """A paid order for a product delivered at once; its link mail is in the folder."""
    rt = gd_runtime
    async with rt.db.transaction() as session:
        product, _ = await upsert_product(
            session,
            slug="guide",
            title="Guide",
            tier_id="std",
            tier_label="Standard",
            price=Money(5000, "XOF"),
        )
    stored = await rt.storage.save("products/guidefile", _one(GUIDE))
    async with rt.db.transaction() as session:
        session.add(
            Asset(
                product_id=product.id,
                kind=AssetKind.PRODUCT_FILE,
                storage="local",
                key=stored.key,
                filename="guide d'audit.pdf",
                media_type="application/pdf",
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                created_at=rt.clock.now(),
            )
        )
        order = await create_order(
            session,
            product_slug="guide",
            tier_id="std",
            buyer_email="awa@example.org",
            buyer_name="Awa",
            now=rt.clock.now(),
        )
    await pay_with_fake(gd_client, gd_fake_provider, order.id, gd_run_jobs)
    return order


async def test_the_link_mail_leads_to_the_file_once(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, paid_guide: Order
) -> None:
    subjects = [m["Subject"] for m in mails(gd_runtime.settings)]
    assert sorted(subjects) == ["Paiement confirmé — Guide", "Votre document est prêt — Guide"]
    [ready] = [m for m in mails(gd_runtime.settings) if "prêt" in m["Subject"]]
    assert ready["To"] == "awa@example.org"
    url = link_in(ready)
    # prefetching (GET, HEAD) consumes nothing
    for _ in range(3):
        page = await gd_client.get(url)
        assert page.status_code == 200
        assert "guide d&#39;audit.pdf" in page.text
        assert page.headers["cache-control"] == "no-store"
    assert (await gd_client.head(url)).status_code == 200
    response = await gd_client.post(url)
    assert response.status_code == 200
    assert response.content == GUIDE
    assert response.headers["content-length"] == str(len(GUIDE))
    assert response.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''guide%20d%27audit.pdf"
    )
    assert response.headers["cache-control"] == "no-store"
    again = await gd_client.post(url, headers={"accept": "text/html"})
    assert again.status_code == 410
    assert "déjà servi" in again.text
    assert "nouveau lien" in again.text
    async with gd_runtime.db.transaction() as session:
        order = await session.get(Order, paid_guide.id)
        assert order is not None
        assert order.fulfilment_status is FulfilmentState.DELIVERED
        token = (await session.execute(sa.select(DownloadToken))).scalar_one()
        assert token.use_count == 1


async def test_bad_or_unknown_links_are_404(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, paid_guide: Order
) -> None:
    from gated_delivery import tokens

    url = link_in(next(m for m in mails(gd_runtime.settings) if "prêt" in m["Subject"]))
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    unknown = "/download/" + tokens.sign(gd_runtime.settings, "no-such-token")
    for path in (tampered, unknown, "/download/garbage"):
        assert (await gd_client.get(path)).status_code == 404
        assert (await gd_client.post(path)).status_code == 404
    async with gd_runtime.db.transaction() as session:
        token = (await session.execute(sa.select(DownloadToken))).scalar_one()
        assert token.use_count == 0


async def test_an_expired_link_is_410_and_offers_a_new_one(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_clock: FrozenClock,
    paid_guide: Order,
    gd_run_jobs: RunJobs,
) -> None:
    url = link_in(next(m for m in mails(gd_runtime.settings) if "prêt" in m["Subject"]))
    gd_clock.advance(minutes=46)
    page = await gd_client.get(url)
    assert page.status_code == 410
    assert "a expiré" in page.text
    assert (await gd_client.post(url)).status_code == 410
    renewed = await gd_client.post(url + "/renew")
    assert renewed.status_code == 202
    await gd_run_jobs()
    [fresh] = [m for m in mails(gd_runtime.settings) if "nouveau lien" in m["Subject"]]
    assert fresh["To"] == "awa@example.org"
    response = await gd_client.post(link_in(fresh))
    assert response.content == GUIDE


async def test_new_links_are_rate_limited_and_reveal_nothing(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_clock: FrozenClock,
    paid_guide: Order,
    gd_run_jobs: RunJobs,
) -> None:
    from gated_delivery import tokens

    url = link_in(next(m for m in mails(gd_runtime.settings) if "prêt" in m["Subject"]))
    gd_clock.advance(minutes=46)
    answers = [await gd_client.post(url + "/renew") for _ in range(5)]
    unknown = "/download/" + tokens.sign(gd_runtime.settings, "nope") + "/renew"
    answers.append(await gd_client.post(unknown))
    assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}
    await gd_run_jobs()
    renewals = [m for m in mails(gd_runtime.settings) if "nouveau lien" in m["Subject"]]
    assert len(renewals) == delivery.RENEWALS_PER_ORDER_PER_HOUR


async def test_revoked_links_are_410(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, paid_guide: Order
) -> None:
    url = link_in(next(m for m in mails(gd_runtime.settings) if "prêt" in m["Subject"]))
    assert (
        await delivery.revoke(gd_runtime, paid_guide.id, actor="staff:ops", reason="chargeback")
        == 1
    )
    page = await gd_client.get(url)
    assert page.status_code == 410
    assert "révoqué" in page.text
    assert (await gd_client.post(url)).status_code == 410
    assert (await gd_client.post(url + "/renew")).status_code == 202
    async with gd_runtime.db.transaction() as session:
        jobs = (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(Job)
                .where(Job.payload["template"].as_string() == "new_link")
            )
        ).scalar_one()
    assert jobs == 0  # a revoked order gets no new link


async def test_a_refund_revokes_every_link(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, paid_guide: Order
) -> None:
    url = link_in(next(m for m in mails(gd_runtime.settings) if "prêt" in m["Subject"]))
    with pytest.raises(ActionRefused, match="a reason is required"):
        await delivery.refund(gd_runtime, paid_guide.id, actor="staff:ops", reason="")
    assert (await gd_client.get(url)).status_code == 200
    assert (
        await delivery.refund(
            gd_runtime, paid_guide.id, actor="staff:ops", reason="buyer cancelled"
        )
        == 1
    )
    assert (await gd_client.get(url)).status_code == 410
    async with gd_runtime.db.transaction() as session:
        order = await session.get(Order, paid_guide.id)
        assert order is not None
        assert order.payment_status is PaymentStatus.REFUNDED
        assert order.fulfilment_status is FulfilmentState.REVOKED


async def test_a_link_of_an_unpaid_order_is_403(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, paid_guide: Order
) -> None:
    url = link_in(next(m for m in mails(gd_runtime.settings) if "prêt" in m["Subject"]))
    async with gd_runtime.db.transaction() as session:
        # a payment status that is no longer PAID, with the link still live
        await session.execute(sa.update(Order).values(payment_status=PaymentStatus.REVIEW))
    assert (await gd_client.get(url)).status_code == 403
    response = await gd_client.post(url)
    assert response.status_code == 403
    assert GUIDE not in response.content


async def test_twenty_simultaneous_downloads_of_a_single_use_link_give_one_file(
    gd_backend: str, gd_client: httpx.AsyncClient, gd_runtime: Runtime, paid_guide: Order
) -> None:
    if gd_backend != "postgresql":
        pytest.skip("race tests need PostgreSQL: SQLite serialises every writer")
    url = link_in(next(m for m in mails(gd_runtime.settings) if "prêt" in m["Subject"]))
    answers = await asyncio.gather(*(gd_client.post(url) for _ in range(20)))
    assert sorted(a.status_code for a in answers) == [200] + [410] * 19
    assert [a.content for a in answers if a.status_code == 200] == [GUIDE]
    async with gd_runtime.db.transaction() as session:
        consumed = (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.event == "consumed")
            )
        ).scalar_one()
    assert consumed == 1


def test_no_path_from_the_link_to_the_file_system(tmp_path: Path) -> None:
    from gated_delivery.default_plugins.local_storage import LocalStorage

    with pytest.raises(ValueError, match="refused storage key"):
        LocalStorage(tmp_path)._path("../../etc/passwd")


async def test_the_access_log_of_a_full_flow_holds_no_download_token(
    gd_app: Any, gd_runtime: Runtime, paid_guide: Order, caplog: pytest.LogCaptureFixture
) -> None:
    [ready] = [m for m in mails(gd_runtime.settings) if "prêt" in m["Subject"]]
    path = link_in(ready)
    token = path.rsplit("/", 1)[1]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # a real server on an ephemeral port, its real access log
    server = uvicorn.Server(uvicorn.Config(gd_app, log_config=None, lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            async with httpx.AsyncClient(base_url=base) as client:
                assert (await client.get(path)).status_code == 200
                assert (await client.head(path)).status_code == 200
                assert (await client.post(path)).content == GUIDE
                assert (await client.post(f"{path}/renew")).status_code < 500
    finally:
        server.should_exit = True
        await serving
        sock.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(lines) == 4, lines
    assert all("/download/[redacted]" in line for line in lines), lines
    assert not [line for line in lines if token in line or token[:20] in line]
