"""When the plugin is enabled, and how a missing or bad setting stops start-up."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from gated_delivery_openai_docx import DEFAULT_TEMPLATE, SANDBOX_INSTRUCTION, load_config
from gated_delivery_openai_docx.plugin import generators
from gated_delivery_openai_docx.settings import sandbox_api_url

from gated_delivery.config import CoreSettings
from gated_delivery.errors import ConfigurationError

VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "GD_PROMPT_PATH",
    "GD_DOCX_TEMPLATE",
    "OPENAI_TIMEOUT_SECONDS",
    "OPENAI_MAX_OUTPUT_TOKENS",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable of ours from the host, and no .env file in the working directory."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def core(*, sandbox: bool = False) -> CoreSettings:
    return CoreSettings(
        secret_key="settings-test-secret-key-" + "y" * 32,
        base_url="http://demo.test:8000",
        sandbox=sandbox,
    )


def test_nothing_set_offers_nothing() -> None:
    assert load_config(core()) is None
    assert list(generators(settings=core())) == []


def test_model_or_base_url_alone_do_not_enable_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_MODEL", "gpt-4.1")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    assert load_config(core()) is None


def test_a_key_needs_an_instruction_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-0123456789")
    with pytest.raises(ConfigurationError, match=r"^GD_PROMPT_PATH is not set"):
        load_config(core())


def test_an_instruction_without_a_key_names_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GD_PROMPT_PATH", str(SANDBOX_INSTRUCTION))
    with pytest.raises(ConfigurationError, match=r"^OPENAI_API_KEY is not set"):
        load_config(core())


def test_a_full_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    prompt = tmp_path / "consigne.md"
    prompt.write_text("Rédige un kit.", encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-0123456789")
    monkeypatch.setenv("GD_PROMPT_PATH", str(prompt))
    monkeypatch.setenv("OPENAI_MODEL", "gpt-4.1-mini")
    monkeypatch.setenv("OPENAI_TIMEOUT_SECONDS", "45")
    monkeypatch.setenv("OPENAI_MAX_OUTPUT_TOKENS", "3000")
    config = load_config(core())
    assert config is not None
    assert (config.model, config.timeout_seconds, config.max_output_tokens) == (
        "gpt-4.1-mini",
        45.0,
        3000,
    )
    assert config.base_url is None  # the OpenAI API itself
    assert config.template_path == DEFAULT_TEMPLATE
    assert "sk-live" not in repr(config)
    [generator] = generators(settings=core())
    assert generator.name == "openai_docx"


def test_sandbox_mode_uses_the_simulator_and_the_shipped_files() -> None:
    config = load_config(core(sandbox=True))
    assert config is not None
    assert config.is_sandbox
    assert config.base_url == sandbox_api_url(core(sandbox=True))
    assert config.base_url == "http://demo.test:8000/sandbox/openai/v1"
    assert config.prompt_path == SANDBOX_INSTRUCTION
    assert config.api_key.get_secret_value().startswith("sk-sandbox-")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OPENAI_TIMEOUT_SECONDS", "0", "^invalid settings: OPENAI_TIMEOUT_SECONDS: "),
        ("OPENAI_MAX_OUTPUT_TOKENS", "many", "^invalid settings: OPENAI_MAX_OUTPUT_TOKENS: "),
        ("OPENAI_BASE_URL", "api.example.org", "^invalid settings: OPENAI_BASE_URL: "),
        ("GD_PROMPT_PATH", "/nowhere/consigne.md", "^GD_PROMPT_PATH: cannot read"),
        ("GD_DOCX_TEMPLATE", "/nowhere/kit.docx", "^GD_DOCX_TEMPLATE: .* does not exist"),
    ],
)
def test_a_bad_value_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message):
        load_config(core(sandbox=True))


def test_a_template_with_an_unknown_variable_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    template = tmp_path / "kit.docx"
    document = docx.Document(str(DEFAULT_TEMPLATE))
    document.add_paragraph("{{ siret }} et {{ telephone }}")
    document.save(str(template))
    monkeypatch.setenv("GD_DOCX_TEMPLATE", str(template))
    with pytest.raises(ConfigurationError, match="uses siret, telephone, which the plugin"):
        load_config(core(sandbox=True))


def test_generated_content_needs_the_paragraph_tag(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    template = tmp_path / "kit.docx"
    document = docx.Document()
    document.add_paragraph("Kit : {{ generated_content }}")
    document.save(str(template))
    monkeypatch.setenv("GD_DOCX_TEMPLATE", str(template))
    with pytest.raises(ConfigurationError, match=r"write \{\{p generated_content \}\}"):
        load_config(core(sandbox=True))


def test_a_file_that_is_not_a_docx_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    template = tmp_path / "kit.docx"
    template.write_text("not a zip", encoding="utf-8")
    monkeypatch.setenv("GD_DOCX_TEMPLATE", str(template))
    with pytest.raises(ConfigurationError, match=r"is not a Word \.docx file"):
        load_config(core(sandbox=True))
