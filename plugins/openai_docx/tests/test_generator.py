"""The generator against the simulator, with the real openai client: outputs and errors."""

from __future__ import annotations

import io
import logging

import docx
import pytest
from gated_delivery_openai_docx import (
    GenerationFailed,
    Misbehaviour,
    OpenAIDocxGenerator,
    OpenAISimulator,
    build_messages,
)

from gated_delivery.errors import RetryLater
from gated_delivery.plugin_types import GenerationRequest

from .conftest import FULL_ANSWERS, with_config


def request(**answers: object) -> GenerationRequest:
    return GenerationRequest(
        order_id="ord_test_1",
        attempt_key="draft:ord_test_1:1",
        product_slug="kit",
        buyer_name="Awa Diop",
        buyer_email="awa@baobab.example",
        answers={**FULL_ANSWERS, **answers},
        document_names=("statuts.pdf",),
    )


async def test_metadata_records_model_usage_and_duration(
    generator: OpenAIDocxGenerator, simulator: OpenAISimulator
) -> None:
    document = await generator.generate(request())
    assert document.media_type.endswith("wordprocessingml.document")
    assert document.filename == "kit-kit-ord_test_1.docx"
    metadata = dict(document.metadata)
    assert metadata["model"] == "gpt-4o-mini"
    assert metadata["prompt_tokens"] > 0
    assert metadata["completion_tokens"] > 0
    assert metadata["total_tokens"] == metadata["prompt_tokens"] + metadata["completion_tokens"]
    assert isinstance(metadata["duration_ms"], int)
    assert metadata["finish_reason"] == "stop"
    assert simulator.last_request == {"model": "gpt-4o-mini", "max_completion_tokens": 8000}


def test_the_prompt_leaves_contact_details_out() -> None:
    messages = build_messages("Consigne", request(extra_field=["a", "b"]))
    user = messages[1]["content"]
    assert messages[0] == {"role": "system", "content": "Consigne"}
    assert "- organization_name: ONG Baobab & Fils" in user
    assert "- mission_text: Soigner au plus près\n  des villages" in user
    assert "- extra_field: a, b" in user
    assert "Uploaded documents (1):\n- statuts.pdf" in user
    assert "Awa" not in user
    assert "awa@" not in user


async def test_logs_carry_no_prompt_or_personal_data(
    generator: OpenAIDocxGenerator,
    simulator: OpenAISimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.misbehave(Misbehaviour.RATE_LIMIT)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(RetryLater):
            await generator.generate(request())
        await generator.generate(request())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ord_test_1" in logged  # ids are what logs are for
    for secret in ("Baobab", "Awa", "awa@", "Thiès", "Soigner", "statuts.pdf", "sk-test"):
        assert secret not in logged


@pytest.mark.parametrize(
    ("misbehaviour", "expected"),
    [
        (Misbehaviour.RATE_LIMIT, RetryLater),
        (Misbehaviour.SERVER_ERROR, RetryLater),
        (Misbehaviour.EMPTY, GenerationFailed),
        (Misbehaviour.REFUSAL, GenerationFailed),
    ],
)
async def test_errors_are_sorted_for_the_job_runner(
    generator: OpenAIDocxGenerator,
    simulator: OpenAISimulator,
    misbehaviour: Misbehaviour,
    expected: type[Exception],
) -> None:
    simulator.misbehave(misbehaviour)
    with pytest.raises(expected):
        await generator.generate(request())


async def test_an_unreachable_server_is_retried_later(generator: OpenAIDocxGenerator) -> None:
    with_config(generator, base_url="http://127.0.0.1:9/v1")  # the discard port: refused
    with pytest.raises(RetryLater, match=r"could not reach http://127\.0\.0\.1:9/v1"):
        await generator.generate(request())


async def test_a_cut_answer_fails_naming_the_setting(
    generator: OpenAIDocxGenerator, simulator: OpenAISimulator
) -> None:
    with_config(generator, max_output_tokens=50)
    with pytest.raises(GenerationFailed, match="cut at OPENAI_MAX_OUTPUT_TOKENS=50"):
        await generator.generate(request())


async def test_the_docx_records_its_generation(
    generator: OpenAIDocxGenerator, simulator: OpenAISimulator
) -> None:
    document = await generator.generate(request())
    opened = docx.Document(io.BytesIO(document.content))
    assert '"model":"gpt-4o-mini"' in opened.core_properties.comments
