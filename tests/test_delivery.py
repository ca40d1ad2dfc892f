"""Staff operations (delivery.py): each refuses with its reason and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gated_delivery import delivery
from gated_delivery.cli import main
from gated_delivery.errors import ActionRefused, IllegalTransition
from gated_delivery.models import Asset, AuditEvent, DownloadToken, Job, Order, Product
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState, PaymentStatus
from gated_delivery.testing import FakeProvider, pay_with_fake
from gated_delivery.testing.orders import make_order

RunJobs = Callable[[], Awaitable[int]]


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def pay(client: httpx.AsyncClient, fake: FakeProvider, order: Order, run: RunJobs) -> None:
    await pay_with_fake(client, fake, order.id, run)


async def snapshot(rt: Runtime) -> tuple[int, int, int, int, list[Path]]:
    async with rt.db.transaction() as session:
        counts = [
            (await session.execute(sa.select(sa.func.count()).select_from(model))).scalar_one()
            for model in (Asset, AuditEvent, Job, DownloadToken)
        ]
    root = rt.settings.private_media_root
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return (*counts, files)  # type: ignore[return-value]


async def test_nothing_can_be_delivered_for_an_unpaid_order(gd_runtime: Runtime) -> None:
    order = await make_order(gd_runtime, requires_review=True, buyer_name="")
    before = await snapshot(gd_runtime)
    with pytest.raises(ActionRefused, match="only be uploaded for a paid order"):
        await delivery.upload_final(
            gd_runtime,
            order.id,
            _one(b"%PDF final"),
            filename="f.pdf",
            media_type="application/pdf",
            actor="staff:ops",
        )
    with pytest.raises(IllegalTransition, match="the order is unpaid, not paid"):
        await delivery.publish(gd_runtime, order.id, actor="staff:ops")
    with pytest.raises(ActionRefused, match="not paid"):
        await delivery.resend(gd_runtime, order.id, actor="staff:ops")
    assert await snapshot(gd_runtime) == before


async def test_review_needs_a_final_before_publishing(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await make_order(gd_runtime, requires_review=True, buyer_name="")
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    before = await snapshot(gd_runtime)
    with pytest.raises(IllegalTransition, match="a final document must be uploaded first"):
        await delivery.publish(gd_runtime, order.id, actor="staff:ops")
    with pytest.raises(ActionRefused, match="publish it first"):
        await delivery.resend(gd_runtime, order.id, actor="staff:ops")
    with pytest.raises(ActionRefused, match="a reason is required"):
        await delivery.revoke(gd_runtime, order.id, actor="staff:ops", reason=" ")
    assert await snapshot(gd_runtime) == before
    final = await delivery.upload_final(
        gd_runtime,
        order.id,
        _one(b"%PDF-1.7 v1"),
        filename="v1.pdf",
        media_type="application/pdf",
        actor="staff:ops",
    )
    replacement = await delivery.upload_final(
        gd_runtime,
        order.id,
        _one(b"%PDF-1.7 v2"),
        filename="v2.pdf",
        media_type="application/pdf",
        actor="staff:ops",
    )
    assert final.id != replacement.id
    assert await delivery.publish(gd_runtime, order.id, actor="staff:ops") is True
    await gd_run_jobs()
    async with gd_runtime.db.transaction() as session:
        token = (await session.execute(sa.select(DownloadToken))).scalar_one()
        assert token.asset_id == replacement.id  # the newest final is delivered
        row = await session.get(Order, order.id)
        assert row is not None
        assert row.fulfilment_status is FulfilmentState.PUBLISHED
    with pytest.raises(ActionRefused, match="cannot be uploaded now"):
        await delivery.upload_final(
            gd_runtime,
            order.id,
            _one(b"%PDF late"),
            filename="late.pdf",
            media_type="application/pdf",
            actor="staff:ops",
        )
    await delivery.resend(gd_runtime, order.id, actor="staff:ops")
    await gd_run_jobs()
    assert await delivery.revoke(gd_runtime, order.id, actor="staff:ops", reason="refund") == 2
    with pytest.raises(ActionRefused, match="already revoked"):
        await delivery.revoke(gd_runtime, order.id, actor="staff:ops", reason="again")


def test_fulfilment_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GD_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    monkeypatch.setenv("GD_SANDBOX", "1")
    monkeypatch.setenv("PRIVATE_MEDIA_ROOT", str(tmp_path / "media"))
    cli = CliRunner()
    assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0
    cli.invoke(
        main,
        [
            "products",
            "add",
            "rapport",
            "--title",
            "Rapport",
            "--amount",
            "25000",
            "--currency",
            "XOF",
            "--review",
        ],
    )
    order_id = cli.invoke(
        main, ["orders", "create", "--product", "rapport", "--email", "a@example.org"]
    ).output.strip()
    final = tmp_path / "final.pdf"
    final.write_bytes(b"%PDF-1.7 final")
    for args, message in (
        (["upload-final", order_id, str(final)], "only be uploaded for a paid order"),
        (["publish", order_id], "not paid"),
        (["resend", order_id], "not paid"),
        (["revoke", order_id, "--reason", "test"], None),
        (["publish", "nope"], "no order 'nope'"),
    ):
        result = cli.invoke(main, ["fulfilment", *args])
        if message is None:
            assert result.exit_code == 0, result.output
            assert "0 live link(s) revoked" in result.output
        else:
            assert result.exit_code == 1
            assert message in result.output
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.pdf"))


def _order(payment: PaymentStatus, fulfilment: FulfilmentState, *, review: bool) -> Order:
    # transient rows: staff_actions reads states only, no database needed
    return Order(
        id="o1",
        payment_status=payment,
        fulfilment_status=fulfilment,
        product=Product(slug="p", title="P", requires_review=review),
    )


P, F = PaymentStatus, FulfilmentState


@pytest.mark.parametrize(
    ("payment", "fulfilment", "review", "has_final", "open_attempts", "expected"),
    [
        (P.UNPAID, F.RECEIVED, True, False, 0, {"revoke"}),
        (P.PENDING, F.RECEIVED, True, False, 1, {"recheck", "revoke"}),
        (P.PAID, F.DRAFT_READY, True, False, 0, {"final", "revoke", "refund"}),
        (P.PAID, F.DRAFT_READY, False, False, 0, {"final", "publish", "revoke", "refund"}),
        (P.PAID, F.FINAL_UPLOADED, True, True, 0, {"final", "publish", "revoke", "refund"}),
        (
            P.PAID,
            F.GENERATION_FAILED,
            True,
            False,
            0,
            {"final", "retry-generation", "revoke", "refund"},
        ),
        (P.PAID, F.PUBLISHED, True, True, 0, {"resend", "revoke", "refund"}),
        (P.PAID, F.REVOKED, True, True, 0, {"refund"}),
        (P.REFUNDED, F.PUBLISHED, True, True, 0, {"revoke"}),
        (P.REVIEW, F.RECEIVED, True, False, 1, {"recheck", "revoke"}),
    ],
)
def test_staff_actions_follow_the_states(
    payment: PaymentStatus,
    fulfilment: FulfilmentState,
    review: bool,
    has_final: bool,
    open_attempts: int,
    expected: set[str],
) -> None:
    order = _order(payment, fulfilment, review=review)
    allowed = delivery.staff_actions(order, has_final=has_final, open_attempts=open_attempts)
    assert allowed == expected


async def test_upload_final_from_the_command_line_tells_the_type_by_content(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    tmp_path: Path,
) -> None:
    import asyncio

    order = await make_order(gd_runtime, requires_review=True, buyer_name="")
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    settings = gd_runtime.settings
    env = {
        "GD_DATABASE_URL": settings.database_url,
        "GD_SECRET_KEY": settings.secret,
        "PRIVATE_MEDIA_ROOT": str(settings.private_media_root),
        "GD_SANDBOX": "0",
    }
    elf = tmp_path / "final.pdf"
    elf.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    pdf = tmp_path / "final.docx"
    pdf.write_bytes(b"%PDF-1.7\nthe real final\n")

    def upload(path: Path) -> Any:
        return CliRunner().invoke(
            main, ["fulfilment", "upload-final", order.id, str(path)], env=env
        )

    refused = await asyncio.to_thread(upload, elf)
    assert refused.exit_code == 1
    assert "file type not accepted (PDF, DOCX)" in refused.output
    assets, *_ = await snapshot(gd_runtime)
    assert assets == 0
    staging = settings.private_media_root / "staff-upload"
    assert not staging.exists() or not any(staging.iterdir())  # nothing of it was kept
    stored = await asyncio.to_thread(upload, pdf)
    assert stored.exit_code == 0, stored.output
    async with gd_runtime.db.transaction() as session:
        final = (await session.execute(sa.select(Asset))).scalar_one()
    assert (final.media_type, final.filename) == ("application/pdf", "final.pdf")
    assert not any(staging.iterdir())
