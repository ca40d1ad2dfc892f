"""The open order forms: submission limits, the unpaid budget, the purge, the admins' digest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from email import message_from_bytes, policy

import httpx
import pytest
import sqlalchemy as sa

from gated_delivery import inquiries
from gated_delivery.errors import TooManyRequests
from gated_delivery.jobs.worker import Worker
from gated_delivery.models import Asset, AssetKind, AuditEvent, Order, Product
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, pay_with_fake

RunJobs = Callable[[], Awaitable[int]]


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def an_order_with_upload(rt: Runtime, email: str, size: int = 1000) -> Order:
    async with rt.db.transaction() as session:
        order = await create_order(
            session,
            product_slug="guide",
            tier_id="std",
            buyer_email=email,
            now=rt.clock.now(),
        )
        key = f"demandes{order.id}/statuts"
        stored = await rt.storage.save(key, _chunks(b"%PDF-" + b"0" * (size - 5)))
        session.add(
            Asset(
                order_id=order.id,
                kind=AssetKind.UPLOAD,
                storage=rt.storage.name,
                key=key,
                filename="statuts.pdf",
                media_type="application/pdf",
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                created_at=rt.clock.now(),
            )
        )
        await inquiries.tell_admins(rt, session, order.id, rt.clock.now())
        return order


async def uploads_of(rt: Runtime, order_id: str) -> list[Asset]:
    async with rt.db.transaction() as session:
        found = await session.execute(sa.select(Asset).where(Asset.order_id == order_id))
        return list(found.scalars())


async def test_the_client_limit_refuses_past_its_count_then_recovers(gd_runtime: Runtime) -> None:
    allowed = 3
    gd_runtime.settings = gd_runtime.settings.model_copy(
        update={"inquiries_per_client_per_hour": allowed}
    )
    for _ in range(allowed):
        await inquiries.admit_client(gd_runtime, "203.0.113.5")
    with pytest.raises(TooManyRequests) as refused:
        await inquiries.admit_client(gd_runtime, "203.0.113.5")
    assert 0 < refused.value.retry_after_seconds <= 3600
    await inquiries.admit_client(gd_runtime, "203.0.113.6")  # another client is not affected
    gd_runtime.clock.advance(minutes=61)  # type: ignore[attr-defined]
    await inquiries.admit_client(gd_runtime, "203.0.113.5")


async def test_one_address_is_limited_whatever_the_client(gd_runtime: Runtime) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(update={"inquiries_per_email_per_hour": 2})
    await inquiries.admit_email(gd_runtime, "awa@example.org")
    await inquiries.admit_email(gd_runtime, " AWA@example.org")
    with pytest.raises(TooManyRequests):
        await inquiries.admit_email(gd_runtime, "awa@example.org")


async def test_the_unpaid_budget_refuses_past_its_size(
    gd_runtime: Runtime, gd_product: Product
) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(update={"unpaid_upload_budget_mb": 1})
    await an_order_with_upload(gd_runtime, "awa@example.org", size=700_000)
    await inquiries.check_budget(gd_runtime, 300_000)
    with pytest.raises(TooManyRequests, match="try again later"):
        await inquiries.check_budget(gd_runtime, 400_000)


async def test_the_purge_removes_unpaid_uploads_after_the_retention_and_keeps_paid_ones(
    gd_runtime: Runtime,
    gd_product: Product,
    gd_client: httpx.AsyncClient,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    unpaid = await an_order_with_upload(gd_runtime, "awa@example.org")
    paid = await an_order_with_upload(gd_runtime, "binta@example.org")
    await pay_with_fake(gd_client, gd_fake_provider, paid.id, gd_run_jobs)
    media = gd_runtime.settings.private_media_root
    assert len([p for p in media.rglob("*") if p.is_file() and "demandes" in str(p)]) == 2

    gd_runtime.clock.advance(days=gd_runtime.settings.unpaid_retention_days - 1)  # type: ignore[attr-defined]
    assert (await inquiries.purge_unpaid_uploads(gd_runtime)).files == 0
    gd_runtime.clock.advance(days=2)  # type: ignore[attr-defined]
    await Worker(gd_runtime).maybe_housekeep()  # the worker's hourly pass

    assert await uploads_of(gd_runtime, unpaid.id) == []
    assert [a.kind for a in await uploads_of(gd_runtime, paid.id)] == [AssetKind.UPLOAD]
    left = [p for p in media.rglob("*") if p.is_file() and "demandes" in str(p)]
    assert [p.parent.name for p in left] == [f"demandes{paid.id}"]
    async with gd_runtime.db.transaction() as session:
        events = (
            await session.execute(sa.select(AuditEvent).where(AuditEvent.event == "uploads_purged"))
        ).scalars()
        purged = [(e.order_id, e.data["files"]) for e in events]
    assert purged == [(unpaid.id, 1)]
    assert (await inquiries.purge_unpaid_uploads(gd_runtime)).files == 0  # nothing twice


async def test_many_inquiries_give_one_digest_mail(
    gd_runtime: Runtime, gd_product: Product, gd_run_jobs: RunJobs
) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(
        update={"admin_emails": ["admin@example.org"]}
    )
    orders = [await an_order_with_upload(gd_runtime, f"b{n}@example.org") for n in range(12)]
    await gd_run_jobs()
    mail_dir = gd_runtime.settings.mail_dir
    assert list(mail_dir.glob("*.eml")) == []
    gd_runtime.clock.advance(minutes=gd_runtime.settings.admin_digest_minutes)  # type: ignore[attr-defined]
    await gd_run_jobs()
    mails = list(mail_dir.glob("*.eml"))
    assert len(mails) == 1
    digest = message_from_bytes(mails[0].read_bytes(), policy=policy.default)
    assert digest["Subject"] == "12 nouvelle(s) demande(s) non payée(s)"
    body = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert all(f"/staff/orders/{o.id}" in body for o in orders)


async def test_no_digest_when_turned_off(
    gd_runtime: Runtime, gd_product: Product, gd_run_jobs: RunJobs
) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(
        update={"admin_emails": ["admin@example.org"], "admin_digest_minutes": 0}
    )
    await an_order_with_upload(gd_runtime, "awa@example.org")
    gd_runtime.clock.advance(hours=3)  # type: ignore[attr-defined]
    await gd_run_jobs()
    assert list(gd_runtime.settings.mail_dir.glob("*.eml")) == []
