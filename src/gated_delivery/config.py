"""Core settings, read from the environment (and ``.env``) and checked at start-up.

A missing or bad value stops start-up with a ``ConfigurationError`` that names the
environment variable, never its secret value.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gated_delivery.errors import ConfigurationError

#: The key sandbox mode falls back to; refused everywhere else.
SANDBOX_SECRET_KEY: Final = "sandbox-only-insecure-key-never-use-this-in-production"  # noqa: S105 - public on purpose, refused outside sandbox
_KNOWN_BAD_KEYS: Final = frozenset(
    {SANDBOX_SECRET_KEY, "changeme", "change-me", "secret", "please-change-me"}
)
MIN_SECRET_KEY_LENGTH: Final = 32


class CoreSettings(BaseSettings):
    """Settings of the core; each field is read from the variable named in its alias."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, frozen=True
    )

    database_url: str = Field(
        "sqlite+aiosqlite:///./gated-delivery.sqlite3",
        validation_alias=AliasChoices("GD_DATABASE_URL", "database_url"),
    )
    secret_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("GD_SECRET_KEY", "secret_key")
    )
    base_url: str = Field(
        "http://127.0.0.1:8000", validation_alias=AliasChoices("GD_BASE_URL", "base_url")
    )
    # the buyer's order page of a host app, a path under GD_BASE_URL naming {order_id};
    # mails link to it ("follow your order"), or to the JSON status when it is unset
    order_page: str | None = Field(
        None, validation_alias=AliasChoices("GD_ORDER_PAGE", "order_page")
    )
    sandbox: bool = Field(False, validation_alias=AliasChoices("GD_SANDBOX", "sandbox"))
    private_media_root: Path = Field(
        Path("private-media"),
        validation_alias=AliasChoices("PRIVATE_MEDIA_ROOT", "private_media_root"),
    )
    storage: str = Field("local", validation_alias=AliasChoices("GD_STORAGE", "storage"))
    download_ttl_minutes: int = Field(
        45, ge=1, validation_alias=AliasChoices("GD_DOWNLOAD_TTL_MINUTES", "download_ttl_minutes")
    )
    download_max_uses: int = Field(
        1, ge=1, validation_alias=AliasChoices("GD_DOWNLOAD_MAX_USES", "download_max_uses")
    )
    smtp_host: str | None = Field(None, validation_alias=AliasChoices("GD_SMTP_HOST", "smtp_host"))
    smtp_port: int = Field(
        587, ge=1, le=65535, validation_alias=AliasChoices("GD_SMTP_PORT", "smtp_port")
    )
    smtp_username: str | None = Field(
        None, validation_alias=AliasChoices("GD_SMTP_USERNAME", "smtp_username")
    )
    smtp_password: SecretStr | None = Field(
        None, validation_alias=AliasChoices("GD_SMTP_PASSWORD", "smtp_password")
    )
    smtp_starttls: bool = Field(
        True, validation_alias=AliasChoices("GD_SMTP_STARTTLS", "smtp_starttls")
    )
    # TLS from the first byte (port 465, "SMTPS"); STARTTLS is then not used
    smtp_ssl: bool = Field(False, validation_alias=AliasChoices("GD_SMTP_SSL", "smtp_ssl"))
    mail_from: str = Field(
        "no-reply@localhost", validation_alias=AliasChoices("GD_MAIL_FROM", "mail_from")
    )
    mail_dir: Path = Field(
        Path("mail-outbox"), validation_alias=AliasChoices("GD_MAIL_DIR", "mail_dir")
    )
    mail_lang: str = Field(
        "fr", pattern="^(fr|en)$", validation_alias=AliasChoices("GD_MAIL_LANG", "mail_lang")
    )
    # the shop's IANA time zone: staff pages, day boundaries of the overview and exports
    timezone: str = Field("UTC", validation_alias=AliasChoices("GD_TIMEZONE", "timezone"))
    templates_dir: Path | None = Field(
        None, validation_alias=AliasChoices("GD_TEMPLATES_DIR", "templates_dir")
    )
    admin_emails: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("GD_ADMIN_EMAILS", "admin_emails")
    )
    embedded_worker: bool = Field(
        True, validation_alias=AliasChoices("GD_EMBEDDED_WORKER", "embedded_worker")
    )
    job_max_attempts: int = Field(
        8, ge=1, le=50, validation_alias=AliasChoices("GD_JOB_MAX_ATTEMPTS", "job_max_attempts")
    )
    worker_poll_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        validation_alias=AliasChoices("GD_WORKER_POLL_SECONDS", "worker_poll_seconds"),
    )
    reconcile_every_minutes: int = Field(
        5,
        ge=0,
        validation_alias=AliasChoices("GD_RECONCILE_EVERY_MINUTES", "reconcile_every_minutes"),
    )
    reconcile_min_age_minutes: int = Field(
        15,
        ge=0,
        validation_alias=AliasChoices("GD_RECONCILE_MIN_AGE_MINUTES", "reconcile_min_age_minutes"),
    )
    # "Mes achats" (/purchases): a buyer asks for a signed e-mail link to their orders;
    # off, the routes answer 404 (a host app with its own buyer accounts turns it off)
    purchases_enabled: bool = Field(
        True, validation_alias=AliasChoices("GD_PURCHASES_ENABLED", "purchases_enabled")
    )
    # minutes after an unpaid or failed order before its one reminder mail (a product may
    # set its own delay); 0 sends no reminder at all
    payment_reminder_minutes: int = Field(
        30,
        ge=0,
        validation_alias=AliasChoices("GD_PAYMENT_REMINDER_MINUTES", "payment_reminder_minutes"),
    )
    # embedded: the app's (or `gated-delivery worker`'s) own loop runs the outbox;
    # celery: a relay publishes outbox rows to GD_CELERY_BROKER_URL for Celery workers
    job_backend: Literal["embedded", "celery"] = Field(
        "embedded", validation_alias=AliasChoices("GD_JOB_BACKEND", "job_backend")
    )
    # declared after job_backend: its validator reads the backend already validated
    celery_broker_url: str | None = Field(
        None,
        validate_default=True,
        validation_alias=AliasChoices("GD_CELERY_BROKER_URL", "celery_broker_url"),
    )
    # how long a Celery worker owns a claimed job; after that a crashed worker's job is
    # published again, so it must exceed the slowest job (generation included)
    celery_lease_seconds: int = Field(
        300,
        ge=1,
        validation_alias=AliasChoices("GD_CELERY_LEASE_SECONDS", "celery_lease_seconds"),
    )
    # "module" or "module:attribute" plugin objects Celery workers register on top of the
    # installed ones: what a host app passes to create_app(plugins_extra=...)
    extra_plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("GD_EXTRA_PLUGINS", "extra_plugins")
    )

    # staff sessions end after this long unused, and this long after the login at the latest
    staff_session_idle_minutes: int = Field(
        60,
        ge=1,
        validation_alias=AliasChoices(
            "GD_STAFF_SESSION_IDLE_MINUTES", "staff_session_idle_minutes"
        ),
    )
    staff_session_max_hours: int = Field(
        12,
        ge=1,
        le=24 * 30,
        validation_alias=AliasChoices("GD_STAFF_SESSION_MAX_HOURS", "staff_session_max_hours"),
    )
    # the open (unpaid) order forms: submissions per client address (many buyers may share
    # one behind a carrier's NAT) and per buyer e-mail in an hour, and the total size of
    # the uploads of orders not paid yet
    inquiries_per_client_per_hour: int = Field(
        20,
        ge=1,
        validation_alias=AliasChoices(
            "GD_INQUIRIES_PER_CLIENT_PER_HOUR", "inquiries_per_client_per_hour"
        ),
    )
    inquiries_per_email_per_hour: int = Field(
        3,
        ge=1,
        validation_alias=AliasChoices(
            "GD_INQUIRIES_PER_EMAIL_PER_HOUR", "inquiries_per_email_per_hour"
        ),
    )
    unpaid_upload_budget_mb: int = Field(
        2048,
        ge=1,
        validation_alias=AliasChoices("GD_UNPAID_UPLOAD_BUDGET_MB", "unpaid_upload_budget_mb"),
    )
    # days after which the uploads of an order never paid are deleted (by the worker)
    unpaid_retention_days: int = Field(
        7, ge=1, validation_alias=AliasChoices("GD_UNPAID_RETENTION", "unpaid_retention_days")
    )
    # one mail to the admins about new unpaid inquiries at most this often (0: no such mail)
    admin_digest_minutes: int = Field(
        60, ge=0, validation_alias=AliasChoices("GD_ADMIN_DIGEST_MINUTES", "admin_digest_minutes")
    )
    # an uploaded DOCX/XLSX/ZIP whose content would inflate past these is refused
    archive_max_uncompressed_mb: int = Field(
        200,
        ge=1,
        validation_alias=AliasChoices(
            "GD_ARCHIVE_MAX_UNCOMPRESSED_MB", "archive_max_uncompressed_mb"
        ),
    )
    archive_max_ratio: int = Field(
        100, ge=2, validation_alias=AliasChoices("GD_ARCHIVE_MAX_RATIO", "archive_max_ratio")
    )

    # plugin names (a default's module name or an entry point's name) never registered:
    # a host app with its own sandbox pages turns ours off without uninstalling anything
    disabled_plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("GD_DISABLED_PLUGINS", "disabled_plugins"),
    )

    # text for people (the default), json for a log collector: one JSON object per line
    log_format: Literal["text", "json"] = Field(
        "text", validation_alias=AliasChoices("GD_LOG_FORMAT", "log_format")
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias=AliasChoices("GD_LOG_LEVEL", "log_level")
    )
    # peers whose X-Forwarded-For / Forwarded headers are believed (addresses or CIDRs);
    # requests from any other peer keep their own address whatever headers they send
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1"],
        validation_alias=AliasChoices("GD_TRUSTED_PROXIES", "trusted_proxies"),
    )
    # error reports to Sentry (extra gated-delivery[sentry]); unset: nothing is sent
    sentry_dsn: SecretStr | None = Field(
        None, validation_alias=AliasChoices("GD_SENTRY_DSN", "sentry_dsn")
    )

    # GET /metrics (Prometheus text format); off unless GD_METRICS=1
    metrics: bool = Field(False, validation_alias=AliasChoices("GD_METRICS", "metrics"))
    # the scraper's bearer token; unset: only loopback clients may scrape
    metrics_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("GD_METRICS_TOKEN", "metrics_token")
    )

    # webhooks to the shop's own systems: loopback, private and link-local addresses are
    # refused (SSRF) unless this is set, for a receiver on the same host or network
    webhooks_allow_private: bool = Field(
        False,
        validation_alias=AliasChoices("GD_WEBHOOKS_ALLOW_PRIVATE", "webhooks_allow_private"),
    )
    webhooks_timeout_seconds: float = Field(
        15.0,
        gt=0,
        le=60,
        validation_alias=AliasChoices("GD_WEBHOOKS_TIMEOUT_SECONDS", "webhooks_timeout_seconds"),
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an address or a CIDR (e.g. 10.0.0.0/8, 127.0.0.1)"
                ) from None
        return value

    @field_validator("admin_emails", mode="before")
    @classmethod
    def _split_emails(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("extra_plugins", "disabled_plugins", mode="before")
    @classmethod
    def _split_plugins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("celery_broker_url")
    @classmethod
    def _check_broker_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("job_backend") == "celery" and not value:
            raise ValueError(
                "must be set when GD_JOB_BACKEND=celery (e.g. redis://127.0.0.1:6379/0)"
            )
        return value or None

    @field_validator("order_page")
    @classmethod
    def _check_order_page(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith("/") or value.count("{order_id}") != 1:
            raise ValueError("must be a path naming {order_id} once, such as /orders/{order_id}")
        if value.replace("{order_id}", "").count("{") or value.count("}") != 1:
            raise ValueError("may hold no braces but those of {order_id}")
        return value

    def order_page_url(self, order_id: str) -> str:
        """Where a buyer follows an order: ``GD_ORDER_PAGE``, else the JSON status."""
        page = self.order_page or "/orders/{order_id}/status"
        return self.base_url + page.replace("{order_id}", order_id)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Africa/Dakar or UTC") from None
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL "
                "(the async drivers gated-delivery ships with)"
            )
        return value

    @property
    def secret(self) -> str:
        """The secret key, unwrapped; only signing code should call this."""
        if self.secret_key is None:  # load_settings() makes this unreachable
            raise ConfigurationError("GD_SECRET_KEY is not set")
        return self.secret_key.get_secret_value()


_ALIASES: Final = {
    name: next(
        (alias for alias in getattr(field.validation_alias, "choices", []) if alias.isupper()),
        name,
    )
    for name, field in CoreSettings.model_fields.items()
}


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return _ALIASES.get(field, field.upper())


def load_settings(**overrides: Any) -> CoreSettings:
    """Read and check the settings; raise ``ConfigurationError`` naming each bad variable.

    Outside sandbox mode ``GD_SECRET_KEY`` must be set, at least 32 characters long and not a
    known placeholder. In sandbox mode an insecure fixed key is used when none is given.
    """
    try:
        settings = CoreSettings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc, env_name)) from None
    return check_secret_key(settings)


def check_secret_key(settings: CoreSettings) -> CoreSettings:
    """Apply the secret-key rule of ``load_settings`` to already-built settings."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if settings.sandbox:
        if not key:
            return settings.model_copy(update={"secret_key": SecretStr(SANDBOX_SECRET_KEY)})
        return settings
    if not key:
        raise ConfigurationError(
            "GD_SECRET_KEY is not set; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
            "(or set GD_SANDBOX=1 for a local demo)"
        )
    if key.strip().lower() in _KNOWN_BAD_KEYS:
        raise ConfigurationError(
            "GD_SECRET_KEY is a known placeholder; set a random value of 32+ characters"
        )
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"GD_SECRET_KEY is too short ({len(key)} characters); "
            f"use at least {MIN_SECRET_KEY_LENGTH} random characters"
        )
    return settings


def derive_secret(settings: CoreSettings, label: bytes) -> str:
    """A secret for one purpose, derived from ``GD_SECRET_KEY`` (hex HMAC-SHA256 of ``label``).

    For plugins that need a stable secret of their own without a new variable (a simulator's
    credentials in sandbox mode, a key for hashing tokens). Settings built by hand without a
    key use the sandbox key, as ``load_settings`` does in sandbox mode.
    """
    key = settings.secret_key.get_secret_value() if settings.secret_key else SANDBOX_SECRET_KEY
    return hmac.new(key.encode(), label, hashlib.sha256).hexdigest()


def describe_validation_error(exc: ValidationError, name_of: Any) -> str:
    """One line per bad field, naming its environment variable and never its value."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "?"
        problems.append(f"{name_of(field)}: {error['msg']}")
    return "invalid settings: " + "; ".join(problems)
