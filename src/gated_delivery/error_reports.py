"""Error reports to Sentry (``GD_SENTRY_DSN``, extra ``gated-delivery[sentry]``).

Only two things are reported, each explicitly: an unhandled error behind a 500 page, and a
job that went dead. Each report is tagged with the ids bound in the log context (order,
attempt, provider, provider reference, job) and scrubbed before it leaves: no request body,
headers or local variables are attached, and every secret value and e-mail address is
replaced by ``[redacted]`` wherever it appears (see ``redaction``).
"""

from __future__ import annotations

from typing import Any

from gated_delivery import logcontext
from gated_delivery.config import CoreSettings
from gated_delivery.errors import ConfigurationError
from gated_delivery.redaction import scrub, secret_values

_started_with: str | None = None


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
