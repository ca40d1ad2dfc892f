"""The plugin's settings, and when the plugin is enabled.

The plugin is *enabled* when ``OPENAI_API_KEY`` is set, or when the core runs in sandbox mode
(``GD_SANDBOX``):

- With ``OPENAI_API_KEY`` set, the generator talks to ``OPENAI_BASE_URL`` (default: the
  OpenAI API) and ``GD_PROMPT_PATH`` is required: a production site chooses its own
  instructions, it never falls back to the demo ones.
- Otherwise, in sandbox mode, it talks to its own simulator at
  ``GD_BASE_URL/sandbox/openai/v1`` (or ``OPENAI_BASE_URL`` when given) with a dummy key
  derived from ``GD_SECRET_KEY``, and ``GD_PROMPT_PATH`` defaults to the French audit-kit
  instruction shipped with the plugin.
- Otherwise, if ``GD_PROMPT_PATH`` or ``GD_DOCX_TEMPLATE`` is set, start-up stops naming
  ``OPENAI_API_KEY`` (someone meant to generate documents and forgot the key).
- With nothing set and sandbox mode off, the plugin offers nothing. ``OPENAI_MODEL`` or
  ``OPENAI_BASE_URL`` alone do not enable it: other software on the host may use them.

``GD_DOCX_TEMPLATE`` defaults to the template shipped with the plugin. Both files are checked
at start-up (they exist, the template is a .docx whose tags only use known variables).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gated_delivery.api import ConfigurationError, CoreSettings, describe_validation_error

#: Where the simulator is mounted in sandbox mode, under ``GD_BASE_URL``.
SANDBOX_PATH: Final = "/sandbox/openai"
#: The OpenAI-compatible API root under ``SANDBOX_PATH`` (what ``OPENAI_BASE_URL`` names).
SANDBOX_API_PATH: Final = SANDBOX_PATH + "/v1"
DEFAULT_MODEL: Final = "gpt-4o-mini"
PACKAGE_DIR: Final = Path(__file__).parent
#: The Word template shipped with the plugin (made by ``scripts/make_template.py``).
DEFAULT_TEMPLATE: Final = PACKAGE_DIR / "templates" / "default.docx"
#: The French audit-kit instruction used in sandbox mode when ``GD_PROMPT_PATH`` is unset.
SANDBOX_INSTRUCTION: Final = PACKAGE_DIR / "instructions" / "audit_kit_fr.md"

_ENV_NAMES: Final = {
    "api_key": "OPENAI_API_KEY",
    "base_url": "OPENAI_BASE_URL",
    "model": "OPENAI_MODEL",
    "prompt_path": "GD_PROMPT_PATH",
    "template_path": "GD_DOCX_TEMPLATE",
    "timeout_seconds": "OPENAI_TIMEOUT_SECONDS",
    "max_output_tokens": "OPENAI_MAX_OUTPUT_TOKENS",
}


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return _ENV_NAMES.get(field, field.upper())


def _alias(field: str) -> AliasChoices:
    return AliasChoices(env_name(field), field)


class OpenAIDocxSettings(BaseSettings):
    """The plugin's variables as given; ``load_config`` decides what they mean."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, frozen=True
    )

    api_key: SecretStr | None = Field(None, validation_alias=_alias("api_key"))
    base_url: str | None = Field(None, validation_alias=_alias("base_url"))
    model: str = Field(DEFAULT_MODEL, min_length=1, validation_alias=_alias("model"))
    prompt_path: Path | None = Field(None, validation_alias=_alias("prompt_path"))
    template_path: Path | None = Field(None, validation_alias=_alias("template_path"))
    # a long kit takes a while to write; a minute and a half leaves room without hanging a job
    timeout_seconds: float = Field(90.0, gt=0, le=900, validation_alias=_alias("timeout_seconds"))
    max_output_tokens: int = Field(
        8000, ge=1, le=200_000, validation_alias=_alias("max_output_tokens")
    )

    @field_validator("api_key", "base_url", "prompt_path", "template_path", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything the generator needs, checked; the key stays wrapped until used.

    ``base_url`` None means the OpenAI API itself.
    """

    api_key: SecretStr
    model: str
    prompt_path: Path
    template_path: Path
    base_url: str | None = None
    timeout_seconds: float = 90.0
    max_output_tokens: int = 8000
    is_sandbox: bool = False


def sandbox_api_url(core: CoreSettings) -> str:
    """Where the simulator answers in sandbox mode (the OpenAI API root)."""
    return core.base_url.rstrip("/") + SANDBOX_API_PATH


def sandbox_api_key(core: CoreSettings) -> SecretStr:
    """The dummy key of the sandbox, derived from ``GD_SECRET_KEY`` (not a public constant)."""
    digest = hmac.new(core.secret.encode(), b"openai-docx-sandbox-key", hashlib.sha256)
    return SecretStr("sk-sandbox-" + digest.hexdigest()[:32])


def read_settings(**overrides: Any) -> OpenAIDocxSettings:
    """Read the variables; a bad value raises ``ConfigurationError`` naming its variable."""
    try:
        return OpenAIDocxSettings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc, env_name)) from None


def load_config(core: CoreSettings, **overrides: Any) -> GeneratorConfig | None:
    """The configuration to use, or None when the plugin is not enabled (see the module doc)."""
    given = read_settings(**overrides)
    if given.api_key is not None:
        if given.prompt_path is None:
            raise ConfigurationError(
                "GD_PROMPT_PATH is not set; OPENAI_API_KEY is, so documents will be generated "
                "and need an instruction file (Markdown) telling the model what to write"
            )
        config = GeneratorConfig(
            api_key=given.api_key,
            model=given.model,
            prompt_path=given.prompt_path,
            template_path=given.template_path or DEFAULT_TEMPLATE,
            base_url=given.base_url,
            timeout_seconds=given.timeout_seconds,
            max_output_tokens=given.max_output_tokens,
        )
    elif core.sandbox:
        config = GeneratorConfig(
            api_key=sandbox_api_key(core),
            model=given.model,
            prompt_path=given.prompt_path or SANDBOX_INSTRUCTION,
            template_path=given.template_path or DEFAULT_TEMPLATE,
            base_url=given.base_url or sandbox_api_url(core),
            timeout_seconds=given.timeout_seconds,
            max_output_tokens=given.max_output_tokens,
            is_sandbox=True,
        )
    elif given.prompt_path is not None or given.template_path is not None:
        raise ConfigurationError(
            "OPENAI_API_KEY is not set; GD_PROMPT_PATH or GD_DOCX_TEMPLATE is, so documents "
            "are meant to be generated (set GD_SANDBOX=1 to use the offline simulator)"
        )
    else:
        return None
    check_files(config)
    return config


def check_files(config: GeneratorConfig) -> None:
    """Stop start-up when the instruction file or the template cannot be used."""
    # docxtpl and python-docx take a second to import: only when the plugin is enabled
    from gated_delivery_openai_docx.rendering import TemplateProblem, check_template

    try:
        instruction = config.prompt_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"GD_PROMPT_PATH: cannot read {config.prompt_path} as UTF-8 text "
            f"({type(exc).__name__}); point it at the Markdown instruction file"
        ) from None
    if not instruction.strip():
        raise ConfigurationError(f"GD_PROMPT_PATH: {config.prompt_path} is empty")
    try:
        check_template(config.template_path)
    except TemplateProblem as exc:
        raise ConfigurationError(f"GD_DOCX_TEMPLATE: {exc}") from None
