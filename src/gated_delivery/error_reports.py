"""Error reports to Sentry (``GD_SENTRY_DSN``, extra ``gated-delivery[sentry]``).

Only two things are reported, each explicitly: an unhandled error behind a 500 page, and a
job that went dead. Each report is tagged with the ids bound in the log context (order,
attempt, provider, provider reference, job) and scrubbed before it leaves: no request body,
headers or local variables are attached, and every secret value the process knows (the
settings' secrets and any ``*_KEY``, ``*_SECRET``, ``*_TOKEN``, ``*_PASSWORD`` variable) and
every e-mail address is replaced by ``[redacted]`` wherever it appears.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any, Final

from gated_delivery import logcontext
from gated_delivery.config import CoreSettings
from gated_delivery.errors import ConfigurationError

REDACTED: Final = "[redacted]"
_SECRET_NAME: Final = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|DSN)$")
_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
#: Secrets shorter than this are not searched for: "1" would redact every digit.
_MIN_SECRET: Final = 6

_started_with: str | None = None


def secret_values(settings: CoreSettings) -> list[str]:
    """Every secret string this process holds: the settings' and the environment's."""
    found = [
        value.get_secret_value()
        for value in (settings.secret_key, settings.smtp_password, settings.sentry_dsn)
        if value is not None
    ]
    found += [value for name, value in os.environ.items() if _SECRET_NAME.search(name.upper())]
    # longest first, so a secret containing another is replaced whole
    return sorted({v for v in found if len(v) >= _MIN_SECRET}, key=len, reverse=True)


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every secret and e-mail address in its strings replaced."""
    secrets = list(secrets)
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return _EMAIL.sub(REDACTED, value)
    if isinstance(value, dict):
        return {key: scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    return value


def start(settings: CoreSettings) -> bool:
    """Turn reporting on when ``GD_SENTRY_DSN`` is set; once per process. True if on."""
    global _started_with
    if settings.sentry_dsn is None:
        return False
    dsn = settings.sentry_dsn.get_secret_value()
    if _started_with == dsn:
        return True
    try:
        import sentry_sdk
    except ImportError:
        raise ConfigurationError(
            "GD_SENTRY_DSN is set but sentry-sdk is not installed: "
            "pip install 'gated-delivery[sentry]' (or unset GD_SENTRY_DSN)"
        ) from None
    secrets = secret_values(settings)

    def before_send(event: Any, hint: Any) -> Any:
        event.pop("request", None)  # headers, cookies, body: nothing of the buyer leaves
        return scrub(event, secrets)

    sentry_sdk.init(
        dsn=dsn,
        # reports are made explicitly (report()); no integration sends on its own
        default_integrations=False,
        auto_enabling_integrations=False,
        send_default_pii=False,
        include_local_variables=False,
        environment="sandbox" if settings.sandbox else "production",
        before_send=before_send,
    )
    _started_with = dsn
    return True


def stop() -> None:
    """Send what is queued and turn reporting off (tests; a process about to exit)."""
    global _started_with
    if _started_with is None:
        return
    import sentry_sdk

    client = sentry_sdk.get_client()
    client.flush(timeout=5)
    client.close()
    _started_with = None


def report(error: BaseException | str, **tags: str) -> None:
    """Send one error (or message) with the log context's ids and ``tags``, if reporting is on."""
    if _started_with is None:
        return
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        for key, value in {**logcontext.current(), **tags}.items():
            scope.set_tag(key, value)
        if isinstance(error, BaseException):
            scope.capture_exception(error)
        else:
            scope.capture_message(error, level="error")
