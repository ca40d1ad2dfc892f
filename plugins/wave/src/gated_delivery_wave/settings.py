"""The plugin's settings, read from the ``WAVE_*`` variables.

When is the plugin enabled?

- Any variable of ``VARIABLES`` set (non-empty) enables it, and then ``WAVE_API_KEY`` and
  ``WAVE_WEBHOOK_SECRET`` must be set: a missing one stops start-up with a
  ``ConfigurationError`` naming it.
- With none set, it is enabled only in sandbox mode (``GD_SANDBOX=1``), pointed at its own
  simulator under ``GD_BASE_URL`` + ``/sandbox/wave`` with the public sandbox key and secret.
- Otherwise it offers nothing, so installing it changes nothing until it is configured.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gated_delivery.api import ConfigurationError, CoreSettings, describe_validation_error
from gated_delivery_wave import protocol
from gated_delivery_wave.signature import DEFAULT_TOLERANCE_SECONDS

#: Where the simulator is mounted in sandbox mode, under ``GD_BASE_URL``.
SANDBOX_PREFIX: Final = "/sandbox/wave"
#: Key and webhook secret the sandbox simulator accepts; public on purpose, only sent to it.
SANDBOX_API_KEY: Final = "wave_sn_sandbox_gd_not_a_real_key_0000"
SANDBOX_WEBHOOK_SECRET: Final = "wave_sn_WHS_sandbox_gd_not_a_real_secret"  # noqa: S105 - public sandbox value
#: Secrets shorter than this are refused at start-up (Wave's are much longer).
MIN_SECRET_LENGTH: Final = 16

#: Every variable the plugin reads; setting any of them enables it.
VARIABLES: Final = (
    "WAVE_API_KEY",
    "WAVE_WEBHOOK_SECRET",
    "WAVE_API_URL",
    "WAVE_AGGREGATED_MERCHANT_ID",
    "WAVE_WEBHOOK_STRATEGY",
    "WAVE_WEBHOOK_TOLERANCE_SECONDS",
    "WAVE_SIGNING_SECRET",
)
#: The variables without a default.
REQUIRED: Final = ("WAVE_API_KEY", "WAVE_WEBHOOK_SECRET")

WebhookStrategy = Literal["signing", "shared"]


class WaveSettings(BaseSettings):
    """One Wave business wallet: one API key (bound to that wallet), one webhook secret.

    Another wallet (another country, say) needs another key, and today another deployment.
    """

    model_config = SettingsConfigDict(
        env_prefix="WAVE_", env_file=".env", extra="ignore", env_ignore_empty=True, frozen=True
    )

    api_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    api_url: str = protocol.DEFAULT_API_URL
    aggregated_merchant_id: str | None = None
    webhook_strategy: WebhookStrategy = "signing"
    webhook_tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
    #: only for a key created with request signing (``wave_sn_AKS_...``); else leave unset
    signing_secret: SecretStr | None = None

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a local simulator)")
        return value.rstrip("/")

    @field_validator("api_key", "webhook_secret", "signing_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters (copy it whole)")
        return value

    @field_validator("aggregated_merchant_id")
    @classmethod
    def _check_merchant(cls, value: str | None) -> str | None:
        # aggregator accounts only; ids seen look like am-... (C2)
        if value is not None and not value.startswith("am-"):
            raise ValueError("must be an aggregated merchant id starting with am-")
        return value

    @field_validator("webhook_tolerance_seconds")
    @classmethod
    def _check_tolerance(cls, value: int) -> int:
        if not 30 <= value <= 3600:
            raise ValueError("must be between 30 and 3600 seconds")
        return value

    def missing(self) -> list[str]:
        """The required variables that are not set."""
        values = {"WAVE_API_KEY": self.api_key, "WAVE_WEBHOOK_SECRET": self.webhook_secret}
        return [name for name in REQUIRED if values[name] is None]

    def secret(self, field: Literal["api_key", "webhook_secret", "signing_secret"]) -> str:
        """The value of a secret field (empty when unset): unwrap only where it is used."""
        value: SecretStr | None = getattr(self, field)
        return value.get_secret_value() if value is not None else ""


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    return f"WAVE_{field.upper()}"


def read_settings() -> WaveSettings:
    """Read the ``WAVE_*`` variables; a bad value is a ``ConfigurationError`` naming it."""
    try:
        return WaveSettings()
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc, env_name)) from None


def sandbox_settings(core: CoreSettings) -> WaveSettings:
    """Settings pointing at the simulator mounted in this app's sandbox."""
    return WaveSettings(
        api_url=core.base_url + SANDBOX_PREFIX,
        api_key=SecretStr(SANDBOX_API_KEY),
        webhook_secret=SecretStr(SANDBOX_WEBHOOK_SECRET),
        _env_file=None,
    )


def resolve(core: CoreSettings, configured: WaveSettings) -> WaveSettings | None:
    """The settings to use, or None when the plugin is not enabled (see the module doc)."""
    if configured.model_fields_set:
        missing = configured.missing()
        if missing:
            raise ConfigurationError(
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; "
                f"Wave needs {', '.join(REQUIRED)} once any WAVE_* variable is set "
                "(unset them all to disable the plugin)"
            )
        return configured
    if core.sandbox:
        return sandbox_settings(core)
    return None
