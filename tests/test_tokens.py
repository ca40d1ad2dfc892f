"""Download tokens: signed ids, the settings' lifetime and uses, and every refusal's reason."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from gated_delivery import assets, tokens
from gated_delivery.config import CoreSettings
from gated_delivery.models import Asset, AssetKind, Order
from gated_delivery.plugin_types import StoredObject
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState, PaymentStatus
from gated_delivery.testing import FrozenClock, make_order
from gated_delivery.tokens import LinkRefused, Problem


@pytest.fixture
def gd_settings(gd_settings: CoreSettings) -> CoreSettings:
    return gd_settings.model_copy(update={"download_ttl_minutes": 30, "download_max_uses": 2})


@dataclass(frozen=True)
class Issued:
    order_id: str
    token_id: str


async def published_order(rt: Runtime) -> Order:
    """An order as a paid, published one looks to the tokens (its state set directly)."""
    order = await make_order(rt)
    async with rt.db.transaction() as session:
        row = await session.get(Order, order.id)
        assert row is not None
        row.payment_status = PaymentStatus.PAID
        row.fulfilment_status = FulfilmentState.PUBLISHED
    return order


async def issue(rt: Runtime, order: Order) -> Issued:
    stored = StoredObject(key=f"{order.id}/final", size_bytes=3, sha256="0" * 64)
    async with rt.db.transaction() as session:
        row = assets.columns(
            stored,
            kind=AssetKind.FINAL,
            storage="local",
            filename="rapport.pdf",
            media_type="application/pdf",
            now=rt.clock.now(),
            order_id=order.id,
        )
        asset = Asset(**row)
        session.add(asset)
        await session.flush()
        locked = await session.get(Order, order.id)
        assert locked is not None
        token = await tokens.issue(
            session, rt.settings, order=locked, asset=asset, now=rt.clock.now(), actor="test"
        )
        return Issued(order.id, token.id)


async def consume(rt: Runtime, token_id: str) -> int:
    async with rt.db.transaction() as session:
        grant = await tokens.consume(session, token_id, rt.clock.now())
        return grant.token.use_count


async def refusal(rt: Runtime, token_id: str | None) -> Problem:
    with pytest.raises(LinkRefused) as refused:
        async with rt.db.transaction() as session:
            await tokens.check(session, token_id, rt.clock.now())
    return refused.value.problem


def test_a_signed_id_comes_back_and_a_tampered_one_does_not(gd_settings: CoreSettings) -> None:
    signed = tokens.sign(gd_settings, "tok123")
    assert tokens.unsign(gd_settings, signed) == "tok123"
    assert tokens.unsign(gd_settings, signed + "x") is None
    other = gd_settings.model_copy(update={"secret_key": SecretStr("another-key-" + "x" * 30)})
    assert tokens.unsign(other, signed) is None
    assert tokens.link(gd_settings, "tok123") == f"http://testserver/download/{signed}"


async def test_a_token_lives_the_settings_minutes_and_uses(
    gd_runtime: Runtime, gd_clock: FrozenClock
) -> None:
    issued = await issue(gd_runtime, await published_order(gd_runtime))
    assert [await consume(gd_runtime, issued.token_id) for _ in range(2)] == [1, 2]
    assert await refusal(gd_runtime, issued.token_id) is Problem.USED_UP
    fresh = await issue(gd_runtime, await published_order(gd_runtime))
    gd_clock.advance(minutes=30)
    assert await refusal(gd_runtime, fresh.token_id) is Problem.EXPIRED


async def test_each_refusal_names_its_reason(gd_runtime: Runtime) -> None:
    assert await refusal(gd_runtime, None) is Problem.UNKNOWN
    assert await refusal(gd_runtime, "no-such-token") is Problem.UNKNOWN
    unpaid = await make_order(gd_runtime, "guide")
    issued = await issue(gd_runtime, unpaid)
    assert await refusal(gd_runtime, issued.token_id) is Problem.NOT_PAID
    assert Problem.NOT_PAID.status_code == 403
    assert Problem.EXPIRED.status_code == Problem.USED_UP.status_code == 410


async def test_revoking_ends_every_live_token_once(gd_runtime: Runtime) -> None:
    order = await published_order(gd_runtime)
    first, second = await issue(gd_runtime, order), await issue(gd_runtime, order)
    counts = []
    for _ in range(2):
        async with gd_runtime.db.transaction() as session:
            counts.append(
                await tokens.revoke_all(
                    session, order.id, now=gd_runtime.clock.now(), actor="test", reason="refund"
                )
            )
    assert counts == [2, 0]
    assert await refusal(gd_runtime, first.token_id) is Problem.REVOKED
    assert await refusal(gd_runtime, second.token_id) is Problem.REVOKED
