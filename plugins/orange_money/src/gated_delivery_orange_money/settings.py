"""The plugin's settings, read from the ``OM_*`` variables Orange Money's users know.

When is the plugin enabled?

- Any ``OM_*`` variable of ``VARIABLES`` set (non-empty) enables it, and then every required
  one must be set: a missing one stops start-up with a ``ConfigurationError`` naming it.
- With none set, the plugin is enabled only in sandbox mode (``GD_SANDBOX=1``), pointed at
  its own simulator under ``GD_BASE_URL`` + ``/sandbox/orange-money`` with the public sandbox
  credentials below, country ``dev`` and currency ``OUV``.
- Otherwise it offers nothing, so installing it changes nothing until it is configured.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gated_delivery.api import ConfigurationError, CoreSettings, describe_validation_error
from gated_delivery_orange_money import protocol

#: Where the simulator is mounted in sandbox mode, under ``GD_BASE_URL``.
SANDBOX_PREFIX: Final = "/sandbox/orange-money"
#: Credentials the sandbox simulator accepts; public on purpose, only ever sent to it.
SANDBOX_CLIENT_ID: Final = "gd-sandbox-client"
SANDBOX_CLIENT_SECRET: Final = "gd-sandbox-secret-not-for-production"  # noqa: S105 - public sandbox value
SANDBOX_MERCHANT_KEY: Final = "5a4db0c1"

#: Every variable the plugin reads; setting any of them enables it.
VARIABLES: Final = (
    "OM_API_URL",
    "OM_CLIENT_ID",
    "OM_CLIENT_SECRET",
    "OM_MERCHANT_KEY",
    "OM_COUNTRY",
    "OM_CURRENCY",
    "OM_LANG",
    "OM_REFERENCE",
)
#: The variables without a default.
REQUIRED: Final = ("OM_CLIENT_ID", "OM_CLIENT_SECRET", "OM_MERCHANT_KEY", "OM_COUNTRY")


class OrangeMoneySettings(BaseSettings):
    """One Orange Money Web Payment account: one portal application, one country.

    Orange gives one set of credentials per application, subscribed to one country; another
    country needs another application (and, today, another deployment of this plugin).
    """

    model_config = SettingsConfigDict(
        env_prefix="OM_", env_file=".env", extra="ignore", env_ignore_empty=True, frozen=True
    )

    api_url: str = protocol.DEFAULT_API_URL
    client_id: str | None = None
    client_secret: SecretStr | None = None
    merchant_key: SecretStr | None = None
    country: str | None = None
    currency: str | None = None
    lang: str = "fr"
    reference: str = Field("", max_length=protocol.MAX_REFERENCE)

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a local simulator)")
        return value.rstrip("/")

    @field_validator("country")
    @classmethod
    def _check_country(cls, value: str | None) -> str | None:
        # a path segment: "dev" in the sandbox, "ci", "sn", "ml"... in production; "-" drops it
        if value is None:
            return None
        value = value.strip().lower()
        if value == "-":
            return ""
        if not value.isascii() or not value.isalpha():
            raise ValueError("must be a lower-case country code such as ci, sn, ml, or dev")
        return value

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().upper()
        if len(value) != 3 or not value.isascii() or not value.isalpha():
            raise ValueError("must be a three-letter currency code such as XOF, XAF or OUV")
        return value

    @field_validator("lang")
    @classmethod
    def _check_lang(cls, value: str) -> str:
        # "fr" is in every official example and "en" is common; others are unconfirmed
        value = value.strip().lower()
        if len(value) != 2 or not value.isascii() or not value.isalpha():
            raise ValueError("must be a two-letter language code (fr or en)")
        return value

    @property
    def is_sandbox_country(self) -> bool:
        """Whether the calls go to Orange's ``dev`` sandbox (or our simulator of it)."""
        return self.country == protocol.SANDBOX_COUNTRY

    @property
    def api_currency(self) -> str:
        """The currency sent to Orange: ``OM_CURRENCY``, else OUV in ``dev``, else XOF."""
        if self.currency:
            return self.currency
        return protocol.SANDBOX_CURRENCY if self.is_sandbox_country else "XOF"

    def missing(self) -> list[str]:
        """The required variables that are not set."""
        values = {
            "OM_CLIENT_ID": self.client_id,
            "OM_CLIENT_SECRET": self.client_secret,
            "OM_MERCHANT_KEY": self.merchant_key,
            "OM_COUNTRY": self.country,
        }
        return [name for name in REQUIRED if values[name] is None]


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    return f"OM_{field.upper()}"


def read_settings() -> OrangeMoneySettings:
    """Read the ``OM_*`` variables; a bad value is a ``ConfigurationError`` naming it."""
    try:
        return OrangeMoneySettings()
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc, env_name)) from None


def sandbox_settings(core: CoreSettings) -> OrangeMoneySettings:
    """Settings pointing at the simulator mounted in this app's sandbox."""
    return OrangeMoneySettings(
        api_url=core.base_url + SANDBOX_PREFIX,
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SecretStr(SANDBOX_CLIENT_SECRET),
        merchant_key=SecretStr(SANDBOX_MERCHANT_KEY),
        country=protocol.SANDBOX_COUNTRY,
        _env_file=None,
    )


def resolve(core: CoreSettings, configured: OrangeMoneySettings) -> OrangeMoneySettings | None:
    """The settings to use, or None when the plugin is not enabled (see the module doc).

    Raises ``ConfigurationError`` naming every required variable that is missing.
    """
    if configured.model_fields_set:
        missing = configured.missing()
        if missing:
            raise ConfigurationError(
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; "
                f"Orange Money needs {', '.join(REQUIRED)} once any OM_* variable is set "
                "(unset them all to disable the plugin)"
            )
        return configured
    if core.sandbox:
        return sandbox_settings(core)
    return None
