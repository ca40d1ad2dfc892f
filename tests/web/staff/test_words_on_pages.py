"""The order page and the list speak the staff's language: labels, states, money, times."""

from __future__ import annotations

import re

import httpx
import pytest
from tests.web.staff.conftest import RunJobs, pay
from tests.web.staff.test_overview_page import CODES, visible_text

from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import hookimpl
from gated_delivery.money import Money
from gated_delivery.orders import get_order
from gated_delivery.plugin_types import FormField, FormSchema
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider
from gated_delivery.testing.orders import make_order

ANSWERS = {
    "organization_name": "Awa SARL",
    "audits_types": ["fin", "don"],
    "mission_text": "Former les femmes.\nEn ville.\n\nEt au village.",
    "extra_key": "oui",
}


class Labels:
    """A host app's labels, through the form_schema hook."""

    @hookimpl
    def form_schema(self, product_slug: str, lang: str) -> FormSchema | None:
        if product_slug != "kit":
            return None
        english = lang == "en"
        return FormSchema(
            fields=[
                FormField(
                    "organization_name", "Organisation" if english else "Nom de l'organisation"
                ),
                FormField(
                    "audits_types",
                    "Audit types" if english else "Types d'audit",
                    {"fin": "Audit financier", "don": "Audit de bailleur de fonds"},
                ),
                FormField("mission_text", "Mission"),
            ]
        )


@pytest.fixture
def gd_plugins(gd_plugins: list[object]) -> list[object]:
    return [*gd_plugins, Labels()]


@pytest.fixture
def gd_settings(gd_settings: CoreSettings) -> CoreSettings:
    return gd_settings.model_copy(update={"timezone": "Africa/Lagos"})


async def kit_order(rt: Runtime) -> str:
    price = Money(150_000, "XOF")
    order = await make_order(rt, "kit", price=price, requires_review=True, answers=ANSWERS)
    return order.id


async def test_the_french_order_page_shows_words_not_codes(
    staff_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order_id = await kit_order(gd_runtime)
    async with gd_runtime.db.transaction() as session:
        order = await get_order(session, order_id)
    await pay(staff_client, gd_fake_provider, order, gd_run_jobs)
    html = (await staff_client.get(f"/staff/orders/{order_id}")).text
    text = visible_text(html)
    for label in ("Nom de l'organisation", "Types d'audit", "Mission", "Extra key"):
        assert label in text
    for key in ANSWERS:
        assert key not in text
    assert "<li>Audit financier</li><li>Audit de bailleur de fonds</li>" in html
    assert "['" not in text
    assert (
        '<p class="para">Former les femmes.\nEn ville.</p><p class="para">Et au village.</p>'
        in html
    )
    assert "150\u202f000\u00a0FCFA" in text
    assert "Payé" in text
    assert "Paiement confirmé par" in text
    assert "page de paiement ouverte" in text  # the core's reason, in French
    assert "payment session opened" not in text
    assert not set(re.findall(r"[a-z_]+", text)) & CODES
    created = re.search(r'<time datetime="([^"]+)" title="([^"]+) UTC">([^<]+)</time>', html)
    assert created is not None
    hour_utc = int(created.group(2)[11:13])
    hour_local = int(created.group(3).split(", ")[1][:2])
    assert hour_local == (hour_utc + 1) % 24  # Lagos is UTC+1, the instant on hover is UTC


async def test_the_english_page_and_the_list(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    order_id = await kit_order(gd_runtime)
    text = visible_text((await staff_client.get(f"/staff/orders/{order_id}?lang=en")).text)
    assert "Audit types" in text
    assert "Unpaid" in text
    assert "150,000\u00a0FCFA" in text
    listing = visible_text((await staff_client.get("/staff/orders?lang=fr")).text)
    assert "Non payée" in listing
    assert "150\u202f000\u00a0FCFA" in listing
    assert not set(re.findall(r"[a-z_]+", listing)) & CODES
