"""The buyer's pages (pages.py) through the app, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from kit_complet import forms
from kit_complet.offers import GUIDE, KIT

from gated_delivery.models import Asset, AssetKind, Job, Order
from gated_delivery.plugin_types import ReportedStatus
from gated_delivery.runtime import Runtime
from gated_delivery.states import PaymentStatus
from gated_delivery.testing import FakeProvider, checkout, notify_fake, pay_with_fake

RunJobs = Callable[[], Awaitable[int]]
ORDER_URL = re.compile(r"^/commande/([A-Za-z0-9]{22})$")

ANSWERS = {
    "tier": "sur-site",
    "organization_name": "Association Tefy",
    "contact_name": "Awa Diop",
    "email": "awa@example.org",
    "statut_juridique": "ONG",
    "location": "Thiès, Sénégal",
    "sector": "Santé",
    "mission_text": "Soins de santé primaires",
    "context_text": "Demande du bailleur",
    "budget_range": forms.BUDGET_RANGES[1],
    "funding_sources": "Fondation, cotisations",
    "audits_types.1": "1",
    "audits_frequency": forms.AUDIT_FREQUENCIES[0],
    "staff_size": "14",
    "org_chart_text": "",
    "notes_text": "",
}
PDF = b"%PDF-1.4\n% statuts\n%%EOF\n"


def stored_files(rt: Runtime) -> list[Path]:
    """The buyers' documents in storage (the guide's own file lives under products/)."""
    root = rt.settings.private_media_root / "demandes"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def orders(rt: Runtime) -> list[Order]:
    async with rt.db.transaction() as session:
        return list((await session.execute(sa.select(Order))).scalars())


async def submit(
    client: httpx.AsyncClient, answers: dict[str, str], files: list[tuple[str, bytes]]
) -> httpx.Response:
    upload = [("documents", (name, content)) for name, content in files]
    return await client.post("/kit-complet", data=answers, files=upload or None)


async def test_the_catalogue_shows_both_products_and_their_prices(
    kit_client: httpx.AsyncClient,
) -> None:
    page = (await kit_client.get("/")).text
    assert KIT.title in page
    assert GUIDE.title.replace("'", "&#39;") in page
    assert "150\u202f000 XOF" in page
    assert "350\u202f000 XOF" in page
    assert "15\u202f000 XOF" in page


async def test_an_inquiry_creates_an_unpaid_order_with_its_documents_and_tells_the_admins(
    kit_client: httpx.AsyncClient, gd_runtime: Runtime, gd_run_jobs: RunJobs
) -> None:
    response = await submit(
        kit_client, ANSWERS, [("statuts.pdf", PDF), ("bilan.txt", b"Bilan 2025")]
    )
    assert response.status_code == 303, response.text
    found = ORDER_URL.match(response.headers["location"])
    assert found is not None
    async with gd_runtime.db.transaction() as session:
        order = await session.get(Order, found.group(1))
        assert order is not None
        uploads = (
            await session.execute(
                sa.select(Asset).where(Asset.order_id == order.id, Asset.kind == AssetKind.UPLOAD)
            )
        ).scalars()
        names = sorted(a.filename for a in uploads)
    assert order.payment_status is PaymentStatus.UNPAID
    assert (order.tier_id, order.amount_minor, order.currency) == ("sur-site", 350_000, "XOF")
    assert order.buyer_email == "awa@example.org"
    assert order.answers["staff_size"] == 14
    assert order.answers["audits_types"] == [forms.AUDIT_TYPES[1]]
    assert order.answers["lang"] == "fr"
    assert names == ["bilan.txt", "statuts.pdf"]
    assert len(stored_files(gd_runtime)) == 2

    await gd_run_jobs()
    assert list(gd_runtime.settings.mail_dir.glob("*.eml")) == []  # the digest comes later
    gd_runtime.clock.advance(minutes=gd_runtime.settings.admin_digest_minutes)  # type: ignore[attr-defined]
    await gd_run_jobs()
    mails = sorted(gd_runtime.settings.mail_dir.glob("*.eml"))
    assert len(mails) == 1
    notice = message_from_bytes(mails[0].read_bytes(), policy=policy.default)
    assert notice["To"] == gd_runtime.settings.admin_emails[0]
    assert str(notice["Subject"]) == "1 nouvelle(s) demande(s) non payée(s)"
    assert f"/staff/orders/{order.id}" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    body = notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Nom de l'organisation: Association Tefy" in body  # our labels, through the hook
    assert "organization_name" not in body

    page = (await kit_client.get(f"/commande/{order.id}")).text
    assert "en attente de paiement" in page
    assert "statuts.pdf" in page
    assert f'action="/checkout/{order.id}/fake"' in page


async def test_a_bad_inquiry_is_shown_again_with_its_messages_and_keeps_nothing(
    kit_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    answers = {**ANSWERS, "email": "awa-at-example", "staff_size": "quatorze", "tier": "gold"}
    response = await submit(kit_client, answers, [("statuts.pdf", PDF)])
    assert response.status_code == 400
    page = response.text
    assert 'id="erreur-email"' in page
    assert 'id="erreur-staff_size"' in page
    assert "Choisissez une formule." in page
    assert "joignez à nouveau vos documents (« statuts.pdf »)" in page
    assert 'value="awa-at-example"' in page
    assert 'value="quatorze"' in page
    assert ">Soins de santé primaires</textarea>" in page
    assert "<option selected>ONG</option>" in page
    assert await orders(gd_runtime) == []
    assert stored_files(gd_runtime) == []


@pytest.mark.parametrize(
    ("files", "status", "message"),
    [
        ([("virus.pdf", b"MZ\x90\x00binary")], 400, "« virus.pdf » : type de fichier non accepté"),
        ([(f"doc{i}.pdf", PDF) for i in range(11)], 400, "10 fichier(s) au plus"),
        ([("gros.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024))], 413, "trop volumineux (10 Mo"),
    ],
    ids=["type", "count", "size"],
)
async def test_a_refused_document_keeps_every_answer(
    kit_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    files: list[tuple[str, bytes]],
    status: int,
    message: str,
) -> None:
    response = await submit(kit_client, ANSWERS, files)
    assert response.status_code == status
    error = re.search(r'id="erreur-documents">([^<]*)<', response.text)
    assert error is not None
    assert message in error.group(1)
    assert "Aucun document n&#39;a été conservé" in error.group(1)
    assert 'value="Association Tefy"' in response.text
    assert 'value="sur-site" required checked' in response.text
    assert await orders(gd_runtime) == []
    assert stored_files(gd_runtime) == []


async def test_the_guide_order_form(kit_client: httpx.AsyncClient, gd_runtime: Runtime) -> None:
    bad = await kit_client.post("/guide", data={"contact_name": "Awa", "email": "awa"})
    assert bad.status_code == 400
    assert 'id="erreur-email"' in bad.text
    assert 'value="awa"' in bad.text
    good = await kit_client.post("/guide", data={"contact_name": "Awa", "email": "awa@ex.org"})
    assert good.status_code == 303
    (order,) = await orders(gd_runtime)
    assert (order.product.slug, order.tier_id, order.amount_minor) == ("guide-audit", "pdf", 15000)


async def test_the_order_page_follows_the_payment(
    kit_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    await kit_client.post("/guide", data={"contact_name": "Awa", "email": "awa@ex.org"})
    (order,) = await orders(gd_runtime)
    attempt = await checkout(kit_client, order.id)
    await notify_fake(kit_client, gd_fake_provider, attempt, status="failed")
    gd_fake_provider.will_report(attempt, ReportedStatus.FAILED)
    await gd_run_jobs()
    page = (await kit_client.get(f"/commande/{order.id}")).text
    assert "échec — réessayer ou choisir un autre moyen" in page
    assert "Payer à nouveau" in page
    await pay_with_fake(kit_client, gd_fake_provider, order.id, gd_run_jobs)
    await gd_run_jobs()  # the guide is published, then its link mail is sent
    page = (await kit_client.get(f"/commande/{order.id}")).text
    assert "payé — votre lien vous a été envoyé par e-mail" in page
    assert "/checkout/" not in page  # nothing left to pay
    assert 'data-polling="non"' in page
    mails = [m.read_text() for m in gd_runtime.settings.mail_dir.glob("*.eml")]
    confirmed = [m for m in mails if "Suivre votre commande" in m]
    assert len(confirmed) == 1
    assert f"http://testserver/commande/{order.id}" in confirmed[0]  # our page, not JSON


@pytest.mark.parametrize("order_id", ["AAAAAAAAAAAAAAAAAAAAAA", "abc-def.txt", "a" * 40])
async def test_an_unknown_order_page_is_a_french_404(
    kit_client: httpx.AsyncClient, order_id: str
) -> None:
    response = await kit_client.get(f"/commande/{order_id}")
    assert response.status_code == 404
    assert "Nous ne trouvons pas cette commande" in response.text


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_the_return_address_checks_the_payment_and_leads_to_the_order_page(
    kit_client: httpx.AsyncClient, gd_runtime: Runtime, method: str
) -> None:
    await kit_client.post("/guide", data={"contact_name": "Awa", "email": "awa@ex.org"})
    (order,) = await orders(gd_runtime)
    await checkout(kit_client, order.id)
    response = await kit_client.request(method, f"/payments/fake/return?order={order.id}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/commande/{order.id}?retour=1"
    async with gd_runtime.db.transaction() as session:
        keys = list((await session.execute(sa.select(Job.dedupe_key))).scalars())
    # the return page asked the provider: one check of the open attempt, this minute
    assert len([k for k in keys if k and k.startswith("check:")]) == 1, keys
    for bad in ("order=../x", "order=AAAAAAAAAAAAAAAAAAAAAA", "nothing=1"):
        refused = await kit_client.request(method, f"/payments/fake/return?{bad}")
        assert refused.status_code in (400, 404), bad
    unknown = await kit_client.request(method, f"/payments/paypal/return?order={order.id}")
    assert unknown.status_code == 404


def test_settings_turn_off_the_core_sandbox_defaults(gd_settings: Any) -> None:
    assert "gated_delivery.sandbox.fake_provider" in gd_settings.disabled_plugins
    assert "gated_delivery.sandbox.pages" in gd_settings.disabled_plugins


async def test_one_client_past_its_limit_gets_the_try_later_page_and_stores_nothing(
    kit_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(
        update={"inquiries_per_client_per_hour": 2}
    )
    nine_mb = b"%PDF-1.4\n" + b"0" * (9 * 1024 * 1024 - 9)
    documents = [(f"piece{i}.pdf", nine_mb) for i in range(10)]
    answers = [
        await submit(kit_client, {**ANSWERS, "email": f"b{n}@example.org"}, documents)
        for n in range(10)
    ]
    assert [a.status_code for a in answers] == [303, 303] + [429] * 8
    refused = answers[-1]
    assert "Réessayez plus tard" in refused.text
    assert "Votre demande n'a pas été enregistrée" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert len(await orders(gd_runtime)) == 2
    assert len(stored_files(gd_runtime)) == 20


async def test_a_form_past_the_unpaid_budget_is_refused_and_its_files_discarded(
    kit_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    gd_runtime.settings = gd_runtime.settings.model_copy(update={"unpaid_upload_budget_mb": 1})
    half = b"%PDF-1.4\n" + b"0" * 600_000
    first = await submit(kit_client, ANSWERS, [("a.pdf", half)])
    assert first.status_code == 303
    second = await submit(kit_client, {**ANSWERS, "email": "b@example.org"}, [("b.pdf", half)])
    assert second.status_code == 429
    assert "ne pouvons pas conserver vos documents" in second.text
    assert len(await orders(gd_runtime)) == 1
    assert len(stored_files(gd_runtime)) == 1


async def test_a_name_with_escape_and_bidi_characters_is_refused_at_the_form(
    kit_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    hostile = {"contact_name": "Awa \x1b]0;owned\x07 \u202eevil", "email": "awa@example.org"}
    response = await kit_client.post("/guide", data=hostile)
    assert response.status_code == 400
    assert "caractères de contrôle ou invisibles (U+0007, U+001B, U+202E)" in response.text
    assert await orders(gd_runtime) == []
