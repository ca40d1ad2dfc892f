"""Fixtures of the openai-docx tests: the simulator over loopback, the generator wired to it.

The simulator runs in uvicorn on a free 127.0.0.1 port, in a background thread, once per
session; each test starts it afresh (no pending misbehaviour, no calls). The generator talks
to it with the real ``openai`` client, as it would talk to the OpenAI API.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from gated_delivery_openai_docx import (
    DEFAULT_TEMPLATE,
    SANDBOX_INSTRUCTION,
    GeneratorConfig,
    OpenAIDocxGenerator,
    OpenAISimulator,
)
from pydantic import SecretStr

from gated_delivery.catalogue import upsert_product
from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import hookimpl
from gated_delivery.ids import new_public_id
from gated_delivery.models import Asset, AssetKind, AuditEvent, Job, Order, Product
from gated_delivery.money import Money
from gated_delivery.orders import create_order
from gated_delivery.plugin_protocols import Generator
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState
from gated_delivery.testing import FakeProvider, ProviderPlugin, pay_with_fake

API_KEY = "sk-test-openai-docx-0123456789abcdef"
#: How long the simulator's "timeout" answer waits; the timeout tests' client waits less.
SLOW_ANSWER_SECONDS = 2.0
RunJobs = Callable[[], Awaitable[int]]


@dataclass
class SimulatorServer:
    """The session's simulator and its OpenAI API root (what ``OPENAI_BASE_URL`` names)."""

    simulator: OpenAISimulator
    base_url: str


@pytest.fixture(scope="session")
def openai_server() -> Iterator[SimulatorServer]:
    """The OpenAI-compatible simulator, served by uvicorn on a free loopback port."""
    simulator = OpenAISimulator(api_key=API_KEY, timeout_delay_seconds=SLOW_ANSWER_SECONDS)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        simulator.app(),
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # a bounded wait for the server to listen
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the OpenAI simulator did not start within 10 s")
        time.sleep(0.01)
    try:
        yield SimulatorServer(simulator, f"http://127.0.0.1:{port}/sandbox/openai/v1")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def simulator(openai_server: SimulatorServer) -> Iterator[OpenAISimulator]:
    """The session's simulator, with nothing pending and no calls counted."""
    openai_server.simulator.reset()
    yield openai_server.simulator
    openai_server.simulator.reset()


@pytest.fixture
def config(openai_server: SimulatorServer) -> GeneratorConfig:
    """The generator's configuration: the simulator, the shipped instruction and template."""
    return GeneratorConfig(
        api_key=SecretStr(API_KEY),
        model="gpt-4o-mini",
        prompt_path=SANDBOX_INSTRUCTION,
        template_path=DEFAULT_TEMPLATE,
        base_url=openai_server.base_url,
        timeout_seconds=10.0,
        max_output_tokens=8000,
    )


@pytest.fixture
def generator(config: GeneratorConfig, simulator: OpenAISimulator) -> OpenAIDocxGenerator:
    """The generator under test, talking to the simulator."""
    return OpenAIDocxGenerator(config)


def with_config(generator: OpenAIDocxGenerator, **changes: Any) -> None:
    """Change the generator's configuration in place (the runtime holds this object)."""
    generator.config = replace(generator.config, **changes)


class GeneratorPlugin:
    """A throwaway plugin offering the given generator through the real hook."""

    __name__ = "test-openai-docx-generator"

    def __init__(self, generator: Generator) -> None:
        self.generator = generator

    @hookimpl
    def generators(self, settings: CoreSettings) -> Iterable[Generator]:
        """Offer the generator given to the constructor."""
        return [self.generator]


@pytest.fixture
def gd_plugins(gd_fake_provider: FakeProvider, generator: OpenAIDocxGenerator) -> list[object]:
    """The fake payment provider, and our generator wired to the simulator."""
    return [ProviderPlugin(gd_fake_provider), GeneratorPlugin(generator)]


#: Answers filling every template variable with a value found nowhere else in the document.
FULL_ANSWERS: Mapping[str, str] = {
    "organization_name": "ONG Baobab & Fils",
    "contact_name": "Awa Diop",
    "email": "awa@baobab.example",
    "statut_juridique": "Association loi 1901",
    "location": "Thiès, Sénégal",
    "sector": "Santé communautaire",
    "mission_text": "Soigner au plus près\ndes villages",
    "context_text": "Nouveau financement européen",
    "budget_range": "50 à 100 millions XOF",
    "funding_sources": "UE, fondations privées",
    "audits_types": "Audit financier, audit de projet",
    "audits_frequency": "Annuelle",
    "staff_size": "24 salariés",
    "org_chart_text": "Bureau, direction, trois antennes",
    "notes_text": "Premier audit du bailleur",
}


async def new_order(
    rt: Runtime,
    answers: Mapping[str, Any] | None = None,
    *,
    documents: Iterable[str] = (),
    requires_review: bool = True,
) -> Order:
    """An UNPAID order for a product generated by ``openai_docx``, with uploaded documents."""
    slug = "kit-reviewed" if requires_review else "kit-instant"
    async with rt.db.transaction() as session:
        known = (await session.execute(sa.select(Product.id).where(Product.slug == slug))).first()
        if known is None:
            await upsert_product(
                session,
                slug=slug,
                title="Kit d'audit",
                tier_id="std",
                tier_label="Standard",
                price=Money(25000, "XOF"),
                generator="openai_docx",
                requires_review=requires_review,
            )
        order = await create_order(
            session,
            product_slug=slug,
            tier_id="std",
            buyer_email="awa@example.org",
            buyer_name="Awa",
            answers=dict(answers if answers is not None else FULL_ANSWERS),
            now=rt.clock.now(),
        )
        for name in documents:
            session.add(
                Asset(
                    order_id=order.id,
                    kind=AssetKind.UPLOAD,
                    storage="local",
                    key=f"{order.id}/{new_public_id()}",
                    filename=name,
                    media_type="application/pdf",
                    size_bytes=1,
                    sha256="0" * 64,
                    created_at=rt.clock.now(),
                )
            )
        return order


async def pay(
    client: httpx.AsyncClient, fake: FakeProvider, order: Order, run_jobs: RunJobs
) -> None:
    """Pay the order through the fake provider's webhook, then run the jobs due."""
    await pay_with_fake(client, fake, order.id, run_jobs)


@dataclass
class Outcome:
    """Where an order's fulfilment stands, as the database says."""

    state: FulfilmentState
    drafts: list[Asset]
    generate_jobs: list[Job]
    reasons: list[str]


async def outcome(rt: Runtime, order: Order) -> Outcome:
    """Read the order's fulfilment state, draft assets, generate jobs and audit reasons."""
    async with rt.db.transaction() as session:
        row = await session.get(Order, order.id)
        assert row is not None
        drafts = list(
            (
                await session.execute(
                    sa.select(Asset).where(
                        Asset.order_id == order.id, Asset.kind == AssetKind.DRAFT
                    )
                )
            ).scalars()
        )
        jobs = list(
            (
                await session.execute(
                    sa.select(Job).where(Job.kind == "generate", Job.order_id == order.id)
                )
            ).scalars()
        )
        reasons = list(
            (
                await session.execute(
                    sa.select(AuditEvent.reason)
                    .where(AuditEvent.order_id == order.id)
                    .order_by(AuditEvent.id)
                )
            ).scalars()
        )
        return Outcome(row.fulfilment_status, drafts, jobs, reasons)


async def read_asset(rt: Runtime, asset: Asset) -> bytes:
    """A stored file's bytes."""
    return b"".join([chunk async for chunk in _stream(rt, asset.key)])


async def _stream(rt: Runtime, key: str) -> AsyncIterator[bytes]:
    async for chunk in rt.storage.open(key):
        yield chunk
