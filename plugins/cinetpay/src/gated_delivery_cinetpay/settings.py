"""The plugin's settings, read from ``CINETPAY_*`` variables: which API, and when enabled.

CinetPay has two API generations, and the variables set choose one:

- the current API ("v1": OAuth login, ``notify_token``) when ``CINETPAY_API_PASSWORD`` is set,
  with ``CINETPAY_API_KEY`` (``sk_test_…`` for the sandbox, ``sk_live_…`` for production);
  the default URL follows the key's prefix;
- the legacy Checkout API v2 (``x-token`` HMAC) when ``CINETPAY_SITE_ID`` or
  ``CINETPAY_SECRET_KEY`` is set; it needs ``CINETPAY_API_KEY``, ``CINETPAY_SITE_ID`` and
  ``CINETPAY_SECRET_KEY``.

Both sets at once, a key prefix that contradicts ``CINETPAY_API_URL`` or a missing credential
stop start-up with a message naming the variables. With no credential set, in sandbox mode
(``GD_SANDBOX``) the plugin talks to its own simulator at ``GD_BASE_URL/sandbox/cinetpay``
with credentials derived from ``GD_SECRET_KEY``, in the current API unless
``CINETPAY_SANDBOX_API=v2``; outside sandbox mode it offers nothing, except that an option set
without credentials (``CINETPAY_CHANNELS``…) stops start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gated_delivery.api import (
    ConfigurationError,
    CoreSettings,
    derive_secret,
    describe_validation_error,
)

#: The public Checkout API v2 host; the plugin adds ``/v2/payment`` and ``/v2/payment/check``.
DEFAULT_API_URL: Final = "https://api-checkout.cinetpay.com"
#: The current API's hosts (CinetPay's own SDK); the plugin adds ``/v1/...``.
V1_SANDBOX_URL: Final = "https://api.cinetpay.net"
V1_PRODUCTION_URL: Final = "https://api.cinetpay.co"
#: Key prefixes of the current API: they say which environment a key belongs to.
TEST_KEY_PREFIX: Final = "sk_test_"
LIVE_KEY_PREFIX: Final = "sk_live_"
#: Where the simulator is mounted in sandbox mode, under ``GD_BASE_URL``.
SANDBOX_PATH: Final = "/sandbox/cinetpay"
#: The site id the sandbox uses (site ids are numeric text).
SANDBOX_SITE_ID: Final = "100001"
#: Real keys are long random strings; a shorter value is a typo or a placeholder.
MIN_KEY_LENGTH: Final = 8
#: The current API refuses success_url, failed_url and notify_url longer than this.
MAX_V1_URL: Final = 120
#: The longest address the core builds for a provider (the cancel return page), with an
#: order id of the core's length (22); the host part is ``GD_BASE_URL``.
LONGEST_PATH: Final = "/payments/cinetpay/return?order=" + "x" * 22 + "&cancelled=1"

Channels = Literal["ALL", "MOBILE_MONEY", "CREDIT_CARD", "WALLET"]
Channel = Literal["PUSH", "OTP", "QRCODE"]
Lang = Literal["fr", "en"]
Generation = Literal["v1", "v2"]

_V2_CREDENTIALS: Final = ("api_key", "site_id", "secret_key")
_ALL_CREDENTIALS: Final = ("api_key", "api_password", "site_id", "secret_key")
_OPTIONS: Final = frozenset({"channels", "channel", "lang", "session_minutes"})
_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})  # noqa: S104 - a name compared, nothing bound
_V2_NEEDS: Final = (
    "the legacy API needs CINETPAY_API_KEY, CINETPAY_SITE_ID and CINETPAY_SECRET_KEY "
    "(from the back office, Integrations)"
)
_V1_NEEDS: Final = (
    "the current API needs CINETPAY_API_KEY (sk_test_... or sk_live_...) and CINETPAY_API_PASSWORD"
)


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"CINETPAY_{field.upper()}"


class CinetPaySettings(BaseSettings):
    """``CINETPAY_*`` variables as given; ``load_config`` decides what they mean."""

    model_config = SettingsConfigDict(
        env_prefix="CINETPAY_", env_file=".env", extra="ignore", frozen=True
    )

    api_url: str | None = None
    api_key: SecretStr | None = None
    api_password: SecretStr | None = None
    site_id: str | None = None
    secret_key: SecretStr | None = None
    # legacy API; "does channels accept combinations?" is open: single values only
    channels: Channels = "ALL"
    # current API: how the payer confirms (PUSH is the SDK README's example)
    channel: Channel = "PUSH"
    lang: Lang | None = None
    # not a documented CinetPay fact: how long before an unpaid page counts as abandoned
    session_minutes: int = Field(60, ge=5, le=7 * 24 * 60)
    # which API the sandbox simulates when no credential is set
    sandbox_api: Generation = "v1"

    @field_validator(
        "api_url", "api_key", "api_password", "site_id", "secret_key", "lang", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str | None) -> str | None:
        return None if value is None else normalise_api_url(value)

    @field_validator("site_id")
    @classmethod
    def _check_site_id(cls, value: str | None) -> str | None:
        # the back office shows the site id as digits; CinetPay wants it sent as a string
        if value is not None and not re.fullmatch(r"[0-9]+", value.strip()):
            raise ValueError("must be the numeric site id from the CinetPay back office")
        return value.strip() if value is not None else None

    @field_validator("api_key", "secret_key", "api_password")
    @classmethod
    def _check_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_KEY_LENGTH:
            raise ValueError(
                f"is too short; copy the whole value from the back office (Integrations), "
                f"at least {MIN_KEY_LENGTH} characters"
            )
        return value


def normalise_api_url(value: str) -> str:
    """``https://host[/prefix]`` without a trailing slash, ``/v1`` or ``/v2``."""
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    # the docs print the APIs as .../v2 or .../v1; the plugin adds the version itself
    return value.removesuffix("/v2").removesuffix("/v1")


@dataclass(frozen=True)
class CinetPayConfig:
    """The legacy Checkout API v2, checked; secrets stay wrapped until used."""

    api_url: str
    api_key: SecretStr
    site_id: str
    secret_key: SecretStr
    channels: Channels = "ALL"
    lang: Lang | None = None
    session_minutes: int = 60
    is_sandbox: bool = False


@dataclass(frozen=True)
class CinetPayV1Config:
    """The current API (OAuth login, ``notify_token``), checked.

    ``token_key`` keys the hash under which each attempt's ``notify_token`` is stored: it is
    derived from ``GD_SECRET_KEY``, so a database copy alone cannot forge notifications.
    """

    api_url: str
    api_key: SecretStr
    api_password: SecretStr
    token_key: SecretStr
    channel: Channel = "PUSH"
    lang: Lang = "fr"
    session_minutes: int = 60
    is_sandbox: bool = False


#: What ``load_config`` returns when the plugin is enabled.
AnyConfig = CinetPayConfig | CinetPayV1Config


def sandbox_api_url(core: CoreSettings) -> str:
    """Where the simulator answers in sandbox mode."""
    return core.base_url.rstrip("/") + SANDBOX_PATH


def sandbox_config(core: CoreSettings, options: CinetPaySettings | None = None) -> AnyConfig:
    """Credentials for the simulator, derived from ``GD_SECRET_KEY`` (never a public constant)."""
    given = options or CinetPaySettings()
    if given.sandbox_api == "v1":
        return CinetPayV1Config(
            api_url=sandbox_api_url(core),
            api_key=SecretStr(
                TEST_KEY_PREFIX + derive_secret(core, b"cinetpay-sandbox-v1-key")[:32]
            ),
            api_password=SecretStr(derive_secret(core, b"cinetpay-sandbox-v1-password")[:32]),
            token_key=SecretStr(derive_secret(core, b"cinetpay-notify-token-key")),
            channel=given.channel,
            lang=given.lang or "fr",
            session_minutes=given.session_minutes,
            is_sandbox=True,
        )
    return CinetPayConfig(
        api_url=sandbox_api_url(core),
        api_key=SecretStr("sandbox-" + derive_secret(core, b"cinetpay-sandbox-apikey")[:24]),
        site_id=SANDBOX_SITE_ID,
        secret_key=SecretStr(derive_secret(core, b"cinetpay-sandbox-secret-key")),
        channels=given.channels,
        lang=given.lang,
        session_minutes=given.session_minutes,
        is_sandbox=True,
    )


def read_settings(**overrides: Any) -> CinetPaySettings:
    """Read ``CINETPAY_*``; a bad value raises ``ConfigurationError`` naming its variable."""
    try:
        return CinetPaySettings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc, env_name)) from None


def load_config(core: CoreSettings, **overrides: Any) -> AnyConfig | None:
    """The configuration to use, or None when the plugin is not enabled (see the module doc)."""
    given = read_settings(**overrides)
    is_configured = given.api_url is not None or any(
        getattr(given, name) is not None for name in _ALL_CREDENTIALS
    )
    if not is_configured:
        if core.sandbox:
            return sandbox_config(core, given)
        if given.model_fields_set & _OPTIONS:
            raise ConfigurationError(f"CINETPAY_API_KEY is not set; {_V1_NEEDS}, or {_V2_NEEDS}")
        return None
    generation = _generation(given)
    config = _v1_config(core, given) if generation == "v1" else _v2_config(core, given)
    if not config.is_sandbox and not core.sandbox:
        _check_public_base_url(core)
    return config


def _generation(given: CinetPaySettings) -> Generation:
    is_v1 = given.api_password is not None
    is_v2 = given.site_id is not None or given.secret_key is not None
    if is_v1 and is_v2:
        raise ConfigurationError(
            "CINETPAY_API_PASSWORD (current API) and CINETPAY_SITE_ID / CINETPAY_SECRET_KEY "
            "(legacy API) are both set; keep the set of the API your CinetPay account uses"
        )
    if not is_v1 and not is_v2:
        raise ConfigurationError(f"CINETPAY_API_PASSWORD is not set; {_V1_NEEDS}, or {_V2_NEEDS}")
    return "v1" if is_v1 else "v2"


def _v2_config(core: CoreSettings, given: CinetPaySettings) -> CinetPayConfig:
    for name in _V2_CREDENTIALS:
        if getattr(given, name) is None:
            raise ConfigurationError(f"{env_name(name)} is not set; {_V2_NEEDS}")
    assert given.api_key is not None  # checked just above; narrows the types
    assert given.site_id is not None
    assert given.secret_key is not None
    api_url = given.api_url or DEFAULT_API_URL
    return CinetPayConfig(
        api_url=api_url,
        api_key=given.api_key,
        site_id=given.site_id,
        secret_key=given.secret_key,
        channels=given.channels,
        lang=given.lang,
        session_minutes=given.session_minutes,
        is_sandbox=api_url == sandbox_api_url(core),
    )


def _v1_config(core: CoreSettings, given: CinetPaySettings) -> CinetPayV1Config:
    if given.api_key is None:
        raise ConfigurationError(f"CINETPAY_API_KEY is not set; {_V1_NEEDS}")
    assert given.api_password is not None  # the reason this is the current API
    key = given.api_key.get_secret_value().strip()
    api_url = given.api_url or _v1_default_url(key)
    _check_key_matches_url(key, api_url)
    _check_url_lengths(core)
    return CinetPayV1Config(
        api_url=api_url,
        api_key=SecretStr(key),
        api_password=given.api_password,
        token_key=SecretStr(derive_secret(core, b"cinetpay-notify-token-key")),
        channel=given.channel,
        lang=given.lang or "fr",
        session_minutes=given.session_minutes,
        is_sandbox=api_url == sandbox_api_url(core),
    )


def _v1_default_url(key: str) -> str:
    if key.startswith(LIVE_KEY_PREFIX):
        return V1_PRODUCTION_URL
    if key.startswith(TEST_KEY_PREFIX):
        return V1_SANDBOX_URL
    raise ConfigurationError(
        "CINETPAY_API_KEY does not start with sk_test_ or sk_live_, as keys of the current "
        "API do; copy it again from the back office, or set CINETPAY_API_URL to say where "
        "it belongs"
    )


def _check_key_matches_url(key: str, api_url: str) -> None:
    host = (urlsplit(api_url).hostname or "").lower()
    if key.startswith(TEST_KEY_PREFIX) and host == urlsplit(V1_PRODUCTION_URL).hostname:
        raise ConfigurationError(
            "CINETPAY_API_KEY is a sandbox key (sk_test_) but CINETPAY_API_URL is CinetPay's "
            f"production API; use the live key, or unset CINETPAY_API_URL ({V1_SANDBOX_URL})"
        )
    if key.startswith(LIVE_KEY_PREFIX) and host == urlsplit(V1_SANDBOX_URL).hostname:
        raise ConfigurationError(
            "CINETPAY_API_KEY is a production key (sk_live_) but CINETPAY_API_URL is "
            f"CinetPay's sandbox; use the test key, or unset CINETPAY_API_URL "
            f"({V1_PRODUCTION_URL})"
        )


def _check_url_lengths(core: CoreSettings) -> None:
    longest = core.base_url.rstrip("/") + LONGEST_PATH
    if len(longest) > MAX_V1_URL:
        room = MAX_V1_URL - len(LONGEST_PATH)
        raise ConfigurationError(
            f"GD_BASE_URL is too long for CinetPay's current API: the addresses given to "
            f"CinetPay would have {len(longest)} characters and it takes at most {MAX_V1_URL}; "
            f"use a base URL of at most {room} characters (a shorter host or prefix)"
        )


def _check_public_base_url(core: CoreSettings) -> None:
    host = (urlsplit(core.base_url).hostname or "").lower()
    if host in _LOCAL_HOSTS:
        # CinetPay refuses local notify_url and return_url (facts file, section 1)
        raise ConfigurationError(
            f"GD_BASE_URL points at {host}, which CinetPay cannot reach; set it to the "
            "public address of this site (a tunnel will do while developing)"
        )
