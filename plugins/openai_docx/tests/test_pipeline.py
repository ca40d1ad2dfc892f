"""The generator through the real pipeline: payment, job, storage, states (both databases)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import docx
import httpx
from docx.document import Document
from gated_delivery_openai_docx import (
    DEFAULT_TEMPLATE,
    TEMPLATE_VARIABLES,
    Misbehaviour,
    OpenAIDocxGenerator,
    OpenAISimulator,
)
from pydantic import SecretStr

from gated_delivery import fulfilment, job_kinds
from gated_delivery.db import lock
from gated_delivery.models import JobState, Order
from gated_delivery.runtime import Runtime
from gated_delivery.states import FulfilmentState
from gated_delivery.testing import FakeProvider, FrozenClock

from .conftest import FULL_ANSWERS, RunJobs, new_order, outcome, pay, read_asset, with_config

F = FulfilmentState


def all_text(document: Document) -> str:
    """Every paragraph's and table cell's text, one per line."""
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(lines)


async def test_generation_is_skipped_unless_the_order_is_paid(
    gd_runtime: Runtime, simulator: OpenAISimulator
) -> None:
    order = await new_order(gd_runtime)
    await fulfilment.start(gd_runtime, order.id)
    await fulfilment.generate(gd_runtime, order.id, round_=1)
    result = await outcome(gd_runtime, order)
    assert simulator.calls == 0
    assert (result.state, result.drafts) == (F.RECEIVED, [])
    assert "generation skipped: the order is unpaid, not paid" in result.reasons


async def test_a_paid_order_gets_one_docx_draft_with_the_markdown_as_word(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    simulator: OpenAISimulator,
) -> None:
    order = await new_order(gd_runtime, documents=["statuts.pdf", "budget-2024.pdf"])
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    result = await outcome(gd_runtime, order)
    assert result.state is F.DRAFT_READY
    [draft] = result.drafts
    content = await read_asset(gd_runtime, draft)
    assert draft.sha256 == hashlib.sha256(content).hexdigest()
    assert draft.size_bytes == len(content)
    assert draft.filename.endswith(".docx")

    document = docx.Document(io.BytesIO(content))
    text = all_text(document)
    assert "ONG Baobab & Fils" in text
    styles = {p.text: p.style.name if p.style else "" for p in document.paragraphs}
    assert styles["2. Points de contrôle prioritaires"] == "Heading 2"
    assert styles[
        "Gouvernance : procès-verbaux des organes statutaires signés et archivés."
    ].startswith("List Bullet")
    assert styles["Nommer un référent audit et lui donner accès aux pièces."] == "List Number"
    assert styles["statuts.pdf"] == "List Bullet"  # the uploaded documents reached the prompt
    bold = [r.text for p in document.paragraphs for r in p.runs if r.bold]
    italic = [r.text for p in document.paragraphs for r in p.runs if r.italic]
    assert "Gouvernance" in bold
    assert "visés par le trésorier" in italic
    calendar = next(t for t in document.tables if t.cell(0, 0).text == "Étape")
    assert [c.text for c in calendar.rows[1].cells] == [
        "Revue documentaire",
        "Semaine 1",
        "Référent audit",
    ]
    assert "**" not in text
    assert "|---" not in text
    assert "# " not in text
    # model, tokens and duration travel on the draft itself
    recorded = json.loads(document.core_properties.comments)
    assert recorded["model"] == "gpt-4o-mini"
    assert recorded["prompt_tokens"] > 0
    assert recorded["completion_tokens"] > 0
    assert recorded["duration_ms"] >= 0


async def test_every_template_variable_is_rendered(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    simulator: OpenAISimulator,
) -> None:
    order = await new_order(gd_runtime, documents=["a.pdf", "b.pdf", "c.pdf"])
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    [draft] = (await outcome(gd_runtime, order)).drafts
    document = docx.Document(io.BytesIO(await read_asset(gd_runtime, draft)))
    text = all_text(document)
    for name, value in FULL_ANSWERS.items():
        assert value in text, name
    sheet = document.tables[0]
    assert [c.text for c in sheet.rows[-1].cells] == ["Documents transmis", "3"]
    assert "Kit d'audit : ONG Baobab & Fils" in text  # generated_content
    assert "{{" not in text
    assert "{%" not in text
    assert set(TEMPLATE_VARIABLES) == {*FULL_ANSWERS, "generated_content", "documents_count"}


async def test_blank_answers_render_as_empty_text(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    simulator: OpenAISimulator,
) -> None:
    order = await new_order(gd_runtime, {"organization_name": "Coop Kora", "notes_text": "  "})
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    [draft] = (await outcome(gd_runtime, order)).drafts
    document = docx.Document(io.BytesIO(await read_asset(gd_runtime, draft)))
    sheet = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert sheet["Organisation"] == "Coop Kora"
    assert sheet["Statut juridique"] == ""
    assert sheet["Personne de contact"] == "Awa"  # the name given at checkout
    assert sheet["Documents transmis"] == "0"
    assert "Remarques" not in all_text(document)  # the template hides blank sections


async def test_a_rate_limit_then_success_gives_one_draft(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
    simulator: OpenAISimulator,
) -> None:
    simulator.misbehave(Misbehaviour.RATE_LIMIT)
    order = await new_order(gd_runtime)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    waiting = await outcome(gd_runtime, order)
    assert (waiting.state, waiting.drafts) == (F.GENERATING, [])
    [job] = waiting.generate_jobs
    assert job.state is JobState.PENDING
    assert "429" in job.last_error
    gd_clock.advance(seconds=900)  # the backoff's cap: the job is due again
    await gd_run_jobs()
    done = await outcome(gd_runtime, order)
    assert done.state is F.DRAFT_READY
    assert len(done.drafts) == 1
    assert simulator.calls == 2


async def test_a_server_error_is_retried(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
    simulator: OpenAISimulator,
) -> None:
    simulator.misbehave(Misbehaviour.SERVER_ERROR, Misbehaviour.SERVER_ERROR)
    order = await new_order(gd_runtime)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    for _ in range(2):
        assert (await outcome(gd_runtime, order)).state is F.GENERATING
        gd_clock.advance(seconds=900)
        await gd_run_jobs()
    result = await outcome(gd_runtime, order)
    assert (result.state, len(result.drafts), simulator.calls) == (F.DRAFT_READY, 1, 3)


async def test_a_timeout_is_retried(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    gd_clock: FrozenClock,
    generator: OpenAIDocxGenerator,
    simulator: OpenAISimulator,
) -> None:
    # the simulator waits 2 s before this answer; the client gives up well before
    with_config(generator, timeout_seconds=0.3)
    simulator.misbehave(Misbehaviour.TIMEOUT)
    order = await new_order(gd_runtime)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    waiting = await outcome(gd_runtime, order)
    assert waiting.state is F.GENERATING
    [job] = waiting.generate_jobs
    assert job.state is JobState.PENDING
    assert "OPENAI_TIMEOUT_SECONDS=0.3" in job.last_error
    gd_clock.advance(seconds=900)
    await gd_run_jobs()
    result = await outcome(gd_runtime, order)
    assert (result.state, len(result.drafts)) == (F.DRAFT_READY, 1)


async def test_a_refused_api_key_is_generation_failed_with_a_reason(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    generator: OpenAIDocxGenerator,
    simulator: OpenAISimulator,
) -> None:
    with_config(generator, api_key=SecretStr("sk-wrong-key-000000000000"))
    order = await new_order(gd_runtime)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    result = await outcome(gd_runtime, order)
    assert (result.state, result.drafts) == (F.GENERATION_FAILED, [])
    assert result.reasons[-1].startswith("GenerationFailed: ")
    assert "refused the API key (401 invalid_api_key); check OPENAI_API_KEY" in result.reasons[-1]
    assert "sk-wrong" not in result.reasons[-1]
    assert [j.state for j in result.generate_jobs] == [JobState.DONE]  # an outcome, not a crash


async def test_an_empty_answer_and_a_refusal_fail_with_a_reason(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    simulator: OpenAISimulator,
) -> None:
    reasons = []
    for misbehaviour in (Misbehaviour.EMPTY, Misbehaviour.REFUSAL):
        simulator.misbehave(misbehaviour)
        order = await new_order(gd_runtime)
        await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
        result = await outcome(gd_runtime, order)
        assert (result.state, result.drafts) == (F.GENERATION_FAILED, [])
        reasons.append(result.reasons[-1])
    assert "returned an empty answer" in reasons[0]
    assert "refused to write this document" in reasons[1]


async def test_an_unknown_template_variable_is_generation_failed_then_retried(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    generator: OpenAIDocxGenerator,
    simulator: OpenAISimulator,
    tmp_path: Path,
) -> None:
    template = tmp_path / "kit.docx"
    shutil.copy(generator.config.template_path, template)
    with_config(generator, template_path=template)
    broken = docx.Document(str(template))
    broken.add_paragraph("Numéro SIRET : {{ siret }}")
    broken.save(str(template))  # edited after start-up, as staff might
    order = await new_order(gd_runtime)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    result = await outcome(gd_runtime, order)
    assert result.state is F.GENERATION_FAILED
    assert "GD_DOCX_TEMPLATE" in result.reasons[-1]
    assert "uses siret, which the plugin does not define" in result.reasons[-1]

    # staff fix the template and retry: a new round, one draft
    shutil.copy(DEFAULT_TEMPLATE, template)
    async with gd_runtime.db.transaction() as session:
        row = await lock(session, Order, order.id)
        assert row is not None
        await fulfilment.move(
            gd_runtime,
            session,
            row,
            F.QUEUED,
            actor="staff",
            reason="retry",
            jobs=[job_kinds.generate_job(order.id, round_=2)],
        )
    await gd_run_jobs()
    retried = await outcome(gd_runtime, order)
    assert (retried.state, len(retried.drafts)) == (F.DRAFT_READY, 1)


async def test_a_retry_does_not_duplicate_the_draft(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    simulator: OpenAISimulator,
) -> None:
    order = await new_order(gd_runtime)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    first = await outcome(gd_runtime, order)
    assert (first.state, len(first.drafts), simulator.calls) == (F.DRAFT_READY, 1, 1)
    # the same job delivered again (a crashed worker's lease ran out, say)
    await fulfilment.generate(gd_runtime, order.id, round_=1)
    again = await outcome(gd_runtime, order)
    assert [d.id for d in again.drafts] == [d.id for d in first.drafts]
    assert simulator.calls == 1


async def test_without_review_the_draft_is_published(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    simulator: OpenAISimulator,
) -> None:
    order = await new_order(gd_runtime, requires_review=False)
    await pay(gd_client, gd_fake_provider, order, gd_run_jobs)
    result = await outcome(gd_runtime, order)
    assert (result.state, len(result.drafts)) == (F.PUBLISHED, 1)
