"""The plugin's settings, read from ``CINETPAY_*`` variables, and when the plugin is enabled.

The plugin is *enabled* when any ``CINETPAY_*`` variable is set, or when the core runs in
sandbox mode (``GD_SANDBOX``):

- If ``CINETPAY_API_URL``, ``CINETPAY_API_KEY``, ``CINETPAY_SITE_ID`` or ``CINETPAY_SECRET_KEY``
  is set, the three credentials are required; a missing one stops start-up, named.
- Otherwise, in sandbox mode, the plugin talks to its own simulator at
  ``GD_BASE_URL/sandbox/cinetpay`` with sandbox credentials derived from ``GD_SECRET_KEY``.
- Otherwise, if only ``CINETPAY_CHANNELS`` or ``CINETPAY_LANG`` is set, start-up stops naming
  ``CINETPAY_API_KEY`` (someone meant to use CinetPay and forgot the credentials).
- With nothing set and sandbox mode off, the plugin offers nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gated_delivery.config import SANDBOX_SECRET_KEY, CoreSettings, describe_validation_error
from gated_delivery.errors import ConfigurationError

#: The public Checkout API v2 host; the plugin adds ``/v2/payment`` and ``/v2/payment/check``.
DEFAULT_API_URL: Final = "https://api-checkout.cinetpay.com"
#: Where the simulator is mounted in sandbox mode, under ``GD_BASE_URL``.
SANDBOX_PATH: Final = "/sandbox/cinetpay"
#: The site id the sandbox uses (site ids are numeric text).
SANDBOX_SITE_ID: Final = "100001"
#: Real keys are long random strings; a shorter value is a typo or a placeholder.
MIN_KEY_LENGTH: Final = 8

Channels = Literal["ALL", "MOBILE_MONEY", "CREDIT_CARD", "WALLET"]
Lang = Literal["fr", "en"]

_CREDENTIALS: Final = ("api_key", "site_id", "secret_key")
_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})  # noqa: S104 - a name compared, nothing bound


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"CINETPAY_{field.upper()}"


class CinetPaySettings(BaseSettings):
    """``CINETPAY_*`` variables as given; ``load_config`` decides what they mean."""

    model_config = SettingsConfigDict(
        env_prefix="CINETPAY_", env_file=".env", extra="ignore", frozen=True
    )

    api_url: str = DEFAULT_API_URL
    api_key: SecretStr | None = None
    site_id: str | None = None
    secret_key: SecretStr | None = None
    # "Does channels accept combinations?" is an open question: only single values are allowed
    channels: Channels = "ALL"
    lang: Lang | None = None
    # not a documented CinetPay fact: how long before an unpaid page counts as abandoned
    session_minutes: int = Field(60, ge=5, le=7 * 24 * 60)

    @field_validator("api_key", "site_id", "secret_key", "lang", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        return normalise_api_url(value)

    @field_validator("site_id")
    @classmethod
    def _check_site_id(cls, value: str | None) -> str | None:
        # the back office shows the site id as digits; CinetPay wants it sent as a string
        if value is not None and not re.fullmatch(r"[0-9]+", value.strip()):
            raise ValueError("must be the numeric site id from the CinetPay back office")
        return value.strip() if value is not None else None

    @field_validator("api_key", "secret_key")
    @classmethod
    def _check_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_KEY_LENGTH:
            raise ValueError(
                f"is too short; copy the whole value from the back office (Integrations), "
                f"at least {MIN_KEY_LENGTH} characters"
            )
        return value


def normalise_api_url(value: str) -> str:
    """``https://host[/prefix]`` without a trailing slash or a trailing ``/v2``."""
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    # the CinetPay docs print the API as .../v2; the plugin adds /v2 itself
    return value.removesuffix("/v2")


@dataclass(frozen=True)
class CinetPayConfig:
    """Everything the provider needs, checked; secrets stay wrapped until used."""

    api_url: str
    api_key: SecretStr
    site_id: str
    secret_key: SecretStr
    channels: Channels = "ALL"
    lang: Lang | None = None
    session_minutes: int = 60
    is_sandbox: bool = False


def sandbox_api_url(core: CoreSettings) -> str:
    """Where the simulator answers in sandbox mode."""
    return core.base_url.rstrip("/") + SANDBOX_PATH


def sandbox_config(core: CoreSettings, options: CinetPaySettings | None = None) -> CinetPayConfig:
    """Credentials for the simulator, derived from ``GD_SECRET_KEY`` (never a public constant)."""

    # load_settings() fills in the sandbox key; settings built by hand may lack one
    key = core.secret_key.get_secret_value() if core.secret_key else SANDBOX_SECRET_KEY

    def derive(label: bytes) -> str:
        return hmac.new(key.encode(), label, hashlib.sha256).hexdigest()

    return CinetPayConfig(
        api_url=sandbox_api_url(core),
        api_key=SecretStr("sandbox-" + derive(b"cinetpay-sandbox-apikey")[:24]),
        site_id=SANDBOX_SITE_ID,
        secret_key=SecretStr(derive(b"cinetpay-sandbox-secret-key")),
        channels=options.channels if options else "ALL",
        lang=options.lang if options else None,
        session_minutes=options.session_minutes if options else 60,
        is_sandbox=True,
    )


def read_settings(**overrides: Any) -> CinetPaySettings:
    """Read ``CINETPAY_*``; a bad value raises ``ConfigurationError`` naming its variable."""
    try:
        return CinetPaySettings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc, env_name)) from None


def load_config(core: CoreSettings, **overrides: Any) -> CinetPayConfig | None:
    """The configuration to use, or None when the plugin is not enabled (see the module doc)."""
    given = read_settings(**overrides)
    is_configured = "api_url" in given.model_fields_set or any(
        getattr(given, name) is not None for name in _CREDENTIALS
    )
    if not is_configured:
        if core.sandbox:
            return sandbox_config(core, given)
        if given.model_fields_set & {"channels", "lang", "session_minutes"}:
            raise ConfigurationError(
                "CINETPAY_API_KEY is not set; CinetPay needs CINETPAY_API_KEY, "
                "CINETPAY_SITE_ID and CINETPAY_SECRET_KEY (from the back office, Integrations)"
            )
        return None
    for name in _CREDENTIALS:
        if getattr(given, name) is None:
            raise ConfigurationError(
                f"{env_name(name)} is not set; CinetPay needs CINETPAY_API_KEY, "
                "CINETPAY_SITE_ID and CINETPAY_SECRET_KEY (from the back office, Integrations)"
            )
    assert given.api_key is not None  # checked just above; narrows the types
    assert given.site_id is not None
    assert given.secret_key is not None
    is_sandbox = given.api_url == sandbox_api_url(core)
    if not is_sandbox and not core.sandbox:
        host = (urlsplit(core.base_url).hostname or "").lower()
        if host in _LOCAL_HOSTS:
            # CinetPay refuses local notify_url and return_url (facts file, section 1)
            raise ConfigurationError(
                f"GD_BASE_URL points at {host}, which CinetPay cannot reach; set it to the "
                "public address of this site (a tunnel will do while developing)"
            )
    return CinetPayConfig(
        api_url=given.api_url,
        api_key=given.api_key,
        site_id=given.site_id,
        secret_key=given.secret_key,
        channels=given.channels,
        lang=given.lang,
        session_minutes=given.session_minutes,
        is_sandbox=is_sandbox,
    )
