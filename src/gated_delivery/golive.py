"""The go-live checks behind ``gated-delivery check``: each one pass, warn or fail, with a fix.

Settings are judged as they are (``settings_findings``, no network); then the running parts
are tried (``runtime_findings``): the database and its migrations, the providers'
credentials (one harmless authenticated call each), the SMTP login, and whether a worker (or
the relay and a Celery worker) beat lately.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import stat
import tempfile
from dataclasses import asdict, dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import sqlalchemy as sa

from gated_delivery.checkout import provider_urls
from gated_delivery.config import CoreSettings, check_secret_key
from gated_delivery.db import ALEMBIC_VERSION_TABLE, alembic_config
from gated_delivery.default_plugins.smtp_mail import SMTPMail
from gated_delivery.errors import ConfigurationError, ProviderError, ProviderUnavailable
from gated_delivery.heartbeats import BEAT_EVERY, Kind, last_seen_by_kind
from gated_delivery.plugin_protocols import CredentialCheck, PaymentProvider
from gated_delivery.redaction import redact, secret_values
from gated_delivery.runtime import Runtime
from gated_delivery.webhooks import endpoints

#: A worker, relay or Celery worker whose heartbeat is older than this is not running.
SEEN_RECENTLY: Final = 5 * BEAT_EVERY
_LOCAL_SUFFIXES: Final = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


class Level(enum.StrEnum):
    """How an item fares."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    """One checked item: how it fares, what was seen, and what to do about it."""

    item: str
    level: Level
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {**asdict(self), "level": self.level.value}


def ok(item: str, detail: str) -> Finding:
    """A passed item."""
    return Finding(item, Level.PASS, detail)


# --- settings alone --------------------------------------------------------------------


def settings_findings(settings: CoreSettings) -> list[Finding]:
    """What the settings say, before anything is contacted."""
    return [
        _secret_key(settings),
        _sandbox(settings),
        _public_url("base URL", "GD_BASE_URL", settings.base_url),
        _storage(settings),
        _reconciler(settings),
        environment_secrets_note(),
    ]


def _secret_key(settings: CoreSettings) -> Finding:
    try:
        check_secret_key(settings.model_copy(update={"sandbox": False}))
    except ConfigurationError as exc:
        return Finding("secret key", Level.FAIL, str(exc).split(";")[0], _KEY_FIX)
    return ok(
        "secret key", f"GD_SECRET_KEY is {len(settings.secret)} characters, not a placeholder"
    )


_KEY_FIX: Final = (
    "set GD_SECRET_KEY in the host's environment to "
    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
)


def _sandbox(settings: CoreSettings) -> Finding:
    if settings.sandbox:
        return Finding(
            "sandbox off",
            Level.FAIL,
            "GD_SANDBOX is on: simulators are mounted and the fake provider takes payments",
            "unset GD_SANDBOX",
        )
    return ok("sandbox off", "GD_SANDBOX is off")


def is_public(url: str) -> str:
    """Why ``url`` cannot be reached by a provider's server; "" when it can."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        return f"{url} is not https"
    if not host or host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return f"{url} names a local host ({host or 'none'})"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return ""  # a public-looking name; only the provider's test payment proves it
    return "" if address.is_global else f"{url} is a private address ({host})"


def _public_url(item: str, variable: str, url: str) -> Finding:
    problem = is_public(url)
    if problem:
        return Finding(
            item,
            Level.FAIL,
            problem,
            f"set {variable} to the shop's public https address, e.g. https://shop.example.com",
        )
    return ok(item, f"{url} is https and public")


def _storage(settings: CoreSettings) -> Finding:
    if settings.storage != "local":
        return Finding(
            "storage",
            Level.WARN,
            f"GD_STORAGE={settings.storage}: not checked here",
            "check that its files are private and writable",
        )
    root = settings.private_media_root
    if not root.is_dir():
        return Finding("storage", Level.FAIL, f"{root} does not exist", f"mkdir -m 700 {root}")
    try:
        with tempfile.NamedTemporaryFile(dir=root, prefix=".gd-check-"):
            pass
    except OSError as exc:
        return Finding(
            "storage",
            Level.FAIL,
            f"{root} is not writable ({exc.strerror})",
            "give the app's user write access to PRIVATE_MEDIA_ROOT",
        )
    mode = stat.S_IMODE(root.stat().st_mode)
    if mode & 0o077:
        return Finding(
            "storage",
            Level.WARN,
            f"{root} is readable by other users (mode {mode:o})",
            f"chmod 700 {root}, and serve nothing from it",
        )
    return ok("storage", f"{root} is private (mode {mode:o}) and writable")


def _reconciler(settings: CoreSettings) -> Finding:
    every = settings.reconcile_every_minutes
    if settings.job_backend == "celery":
        return Finding(
            "reconciler",
            Level.WARN,
            "runs from Celery beat, which this command cannot see",
            "run `celery -A gated_delivery.jobs.celery_backend beat` beside the workers",
        )
    if every <= 0:
        return Finding(
            "reconciler",
            Level.FAIL,
            "GD_RECONCILE_EVERY_MINUTES=0: late and lost notifications are never caught up",
            "set GD_RECONCILE_EVERY_MINUTES=5, or run `gated-delivery reconcile` from cron",
        )
    return ok("reconciler", f"the worker reconciles every {every} min")


# --- the running parts ---------------------------------------------------------------------


async def runtime_findings(rt: Runtime) -> list[Finding]:
    """Database, providers, mail and worker, each tried for real."""
    findings = [await _migrations(rt)]
    if findings[0].level is not Level.FAIL:
        findings += [await _worker_seen(rt), await _webhooks(rt)]
    if not rt.providers:
        findings.append(
            Finding(
                "providers",
                Level.FAIL,
                "no payment provider is configured",
                "install a provider plugin and set its variables (see docs/providers)",
            )
        )
    for provider in rt.providers.values():
        findings += [_provider_urls(rt, provider), await _credentials(provider)]
    findings.append(await _mail(rt))
    return findings


def _revisions(connection: sa.Connection) -> tuple[set[str], set[str]]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    context = MigrationContext.configure(connection, opts={"version_table": ALEMBIC_VERSION_TABLE})
    current = set(context.get_current_heads())
    heads = set(ScriptDirectory.from_config(alembic_config(connection)).get_heads())
    return current, heads


async def _migrations(rt: Runtime) -> Finding:
    try:
        async with rt.db.engine.connect() as conn:
            current, heads = await conn.run_sync(_revisions)
    except Exception as exc:
        return Finding(
            "database",
            Level.FAIL,
            f"cannot read the database: {type(exc).__name__}",
            "check GD_DATABASE_URL and that the server is up",
        )
    if current != heads:
        seen = f"is at {', '.join(sorted(current))}" if current else "has no migration applied"
        return Finding(
            "migrations",
            Level.FAIL,
            f"the database {seen}; the code expects {', '.join(sorted(heads))}",
            "run `gated-delivery db upgrade`",
        )
    return ok("migrations", f"the database is at the latest migration ({', '.join(heads)})")


#: What starts each kind of process, for the fix of a check that does not see it.
_STARTS: Final = {
    Kind.WORKER: "run `gated-delivery worker` (or GD_EMBEDDED_WORKER=1 in the app)",
    Kind.RELAY: "run `gated-delivery worker --relay` (or GD_EMBEDDED_WORKER=1 in the app)",
    Kind.CELERY: "run `celery -A gated_delivery.jobs.celery_backend worker`",
}


async def _worker_seen(rt: Runtime) -> Finding:
    """Whether the processes that run the jobs beat lately (``heartbeats``)."""
    now = rt.clock.now()
    seen = await last_seen_by_kind(rt)
    needed = [Kind.RELAY, Kind.CELERY] if rt.settings.job_backend == "celery" else [Kind.WORKER]
    for kind in needed:
        last = seen.get(kind)
        if last is None:
            return Finding("worker", Level.FAIL, f"no {kind} has ever run here", _STARTS[kind])
        if now - last > SEEN_RECENTLY:
            return Finding(
                "worker",
                Level.FAIL,
                f"no {kind} seen since {last:%Y-%m-%d %H:%M} UTC: nobody runs the jobs",
                _STARTS[kind],
            )
    lines = ", ".join(f"a {kind} at {seen[kind]:%H:%M:%S}" for kind in needed)
    return ok("worker", f"seen lately: {lines} UTC")


async def _webhooks(rt: Runtime) -> Finding:
    """The shop's webhook endpoints: a disabled one no longer hears of orders."""
    found = await endpoints.list_all(rt)
    if not found:
        return ok("webhooks", "no webhook endpoint (none is needed)")
    disabled = [e for e in found if not e.is_active]
    if not disabled:
        return ok("webhooks", f"{len(found)} endpoint(s), all active")
    first = disabled[0]
    return Finding(
        "webhooks",
        Level.WARN,
        f"{len(disabled)} of {len(found)} endpoint(s) disabled; {first.url}: "
        f"{first.disabled_reason or 'disabled'}",
        f"once its receiver works, run `gated-delivery webhooks enable {first.id}` and "
        f"send the missed events again (`gated-delivery webhooks log {first.id}`)",
    )


def _provider_urls(rt: Runtime, provider: PaymentProvider) -> Finding:
    item = f"{provider.name} URLs"
    urls = provider_urls(rt.settings.base_url, provider.name)
    problems = [problem for url in urls.values() if (problem := is_public(url))]
    if problems:
        return Finding(
            item, Level.FAIL, problems[0], "set GD_BASE_URL to the shop's public https address"
        )
    listed = ", ".join(f"{kind} {url}" for kind, url in urls.items())
    return ok(item, f"declare to {provider.name}: {listed}")


async def _credentials(provider: PaymentProvider) -> Finding:
    item = f"{provider.name} credentials"
    if not isinstance(provider, CredentialCheck):
        return Finding(
            item,
            Level.WARN,
            f"the {provider.name} plugin cannot check its credentials",
            "make one small real payment and refund it",
        )
    try:
        return ok(item, await provider.check_credentials())
    except ProviderUnavailable as exc:
        return Finding(item, Level.FAIL, f"unreachable: {exc}", "check the API URL and network")
    except ProviderError as exc:
        return Finding(item, Level.FAIL, f"refused: {exc}", "copy the production credentials again")
    except Exception as exc:
        return Finding(item, Level.FAIL, f"failed: {type(exc).__name__}", "see the logs")


async def _mail(rt: Runtime) -> Finding:
    if not isinstance(rt.mail, SMTPMail):
        if not rt.settings.smtp_host:
            return Finding(
                "mail",
                Level.FAIL,
                f"mails are written to the folder {rt.settings.mail_dir}, not sent",
                "set GD_SMTP_HOST (and GD_SMTP_USERNAME, GD_SMTP_PASSWORD)",
            )
        return ok("mail", "a plugin sends the mail")
    try:
        said = await rt.mail.check()
    except Exception as exc:
        detail = redact(f"{type(exc).__name__}: {exc}", secret_values(rt.settings))
        return Finding("mail", Level.FAIL, detail, "check GD_SMTP_* and the server's TLS")
    if not (rt.mail.starttls or rt.mail.implicit_tls):
        return Finding("mail", Level.WARN, said, "set GD_SMTP_STARTTLS=1 or GD_SMTP_SSL=1 for TLS")
    return ok("mail", said)


def has_failures(findings: list[Finding]) -> bool:
    """Whether any item failed (the command then exits non-zero)."""
    return any(f.level is Level.FAIL for f in findings)


def environment_secrets_note() -> Finding:
    """Secrets belong in the host's environment, not in a ``.env`` file beside the code."""
    if os.path.exists(".env"):
        return Finding(
            "secrets",
            Level.WARN,
            "a .env file is in the working folder",
            "keep secrets in the host's environment (or a secrets manager), not in files",
        )
    return ok("secrets", "no .env file in the working folder")
