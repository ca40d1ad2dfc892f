"""The client's address behind a proxy (web/proxies.py): believed from trusted peers only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gated_delivery.catalogue import add_product_file
from gated_delivery.delivery import RENEWALS_PER_CLIENT_PER_HOUR, client_fingerprint
from gated_delivery.models import AuditEvent, Order, Product
from gated_delivery.orders import create_order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, download_link, pay_with_fake
from gated_delivery.web.proxies import TrustedProxies, client_address, parse_networks

RunJobs = Callable[[], Awaitable[int]]
PROXY = "10.1.2.3"
BUYER = "203.0.113.7"
OTHER_BUYER = "203.0.113.8"
STRANGER = "198.51.100.20"


@pytest.mark.parametrize(
    ("peer", "hops", "expected"),
    [
        (PROXY, [BUYER], BUYER),
        (PROXY, ["6.6.6.6", BUYER], BUYER),  # the buyer's own made-up hop is skipped
        (PROXY, [BUYER, "10.9.9.9"], BUYER),  # two trusted proxies in a row
        (STRANGER, [BUYER], STRANGER),  # an untrusted peer cannot say who it is
        (PROXY, ["unknown", BUYER], BUYER),
        (PROXY, ["garbage"], PROXY),  # nothing better known than the proxy itself
        (PROXY, ['"[2001:db8::5]:4711"'], "2001:db8::5"),
        (PROXY, ["192.0.2.1:4711"], "192.0.2.1"),
        (PROXY, ["10.5.5.5"], "10.5.5.5"),  # all trusted: the left-most is the best known
    ],
)
def test_client_is_the_right_most_untrusted_hop(peer: str, hops: list[str], expected: str) -> None:
    assert client_address(peer, hops, parse_networks(["10.0.0.0/8"])) == expected


async def _echo(request: Request) -> JSONResponse:
    assert request.client is not None
    return JSONResponse({"client": request.client.host, "scheme": request.url.scheme})


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        (PROXY, {"x-forwarded-for": f"6.6.6.6, {BUYER}", "x-forwarded-proto": "https"},
         {"client": BUYER, "scheme": "https"}),
        (PROXY, {"forwarded": f'for="6.6.6.6", for={BUYER};proto=https'},
         {"client": BUYER, "scheme": "https"}),
        (STRANGER, {"x-forwarded-for": BUYER, "x-forwarded-proto": "https"},
         {"client": STRANGER, "scheme": "http"}),
        (PROXY, {}, {"client": PROXY, "scheme": "http"}),
    ],
)  # fmt: skip
async def test_the_middleware_rewrites_only_for_trusted_peers(
    peer: str, headers: dict[str, str], expected: dict[str, str]
) -> None:
    app = TrustedProxies(Starlette(routes=[Route("/", _echo)]), trusted=["10.0.0.0/8"])
    transport = httpx.ASGITransport(app=app, client=(peer, 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        assert (await client.get("/", headers=headers)).json() == expected


@pytest.fixture
def gd_settings(gd_settings: Any) -> Any:
    """The test settings, trusting the proxy network 10.0.0.0/8."""
    return gd_settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})


async def _paid_link(
    rt: Runtime, product: Product, fake: FakeProvider, run_jobs: RunJobs, tmp_path: Path
) -> str:
    path = tmp_path / "guide.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    await add_product_file(rt, product.id, path, filename="g.pdf", media_type="application/pdf")
    async with rt.db.transaction() as session:
        order: Order = await create_order(
            session,
            product_slug="guide",
            tier_id="std",
            buyer_email="a@example.org",
            now=rt.clock.now(),
        )
    transport = httpx.ASGITransport(app=_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await pay_with_fake(client, fake, order.id, run_jobs)
    return download_link(rt.settings.mail_dir)


def _app(rt: Runtime) -> Any:
    from gated_delivery.web.app import create_app

    return create_app(runtime=rt, run_worker=False)


async def _renew_from(app: Any, link: str, peer: str, forwarded_for: str | None) -> None:
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    transport = httpx.ASGITransport(app=app, client=(peer, 4444))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.post(f"{link}/renew", headers=headers)).status_code == 202


async def _renewals_by(rt: Runtime, address: str) -> int:
    async with rt.db.transaction() as session:
        query = sa.select(sa.func.count()).where(
            AuditEvent.event == "renewal_requested",
            AuditEvent.data["client"].as_string() == client_fingerprint(rt, address),
        )
        return int((await session.execute(query)).scalar_one())


async def test_rate_limit_and_audit_use_the_forwarded_address_from_a_trusted_proxy(
    gd_runtime: Runtime,
    gd_product: Product,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    tmp_path: Path,
) -> None:
    rt = gd_runtime
    link = await _paid_link(rt, gd_product, gd_fake_provider, gd_run_jobs, tmp_path)
    app = _app(rt)
    for _ in range(RENEWALS_PER_CLIENT_PER_HOUR + 2):  # past the limit of one buyer
        await _renew_from(app, link, PROXY, f"6.6.6.6, {BUYER}")
    assert await _renewals_by(rt, BUYER) == RENEWALS_PER_CLIENT_PER_HOUR
    assert await _renewals_by(rt, PROXY) == 0
    assert await _renewals_by(rt, "6.6.6.6") == 0
    # another buyer behind the same proxy has a limit of its own
    await _renew_from(app, link, PROXY, OTHER_BUYER)
    assert await _renewals_by(rt, OTHER_BUYER) == 1
    # a stranger claiming to forward for that buyer is counted as itself
    await _renew_from(app, link, STRANGER, OTHER_BUYER)
    assert await _renewals_by(rt, OTHER_BUYER) == 1
    assert await _renewals_by(rt, STRANGER) == 1
