"""Taking secrets and personal data out of text that leaves the process (logs, reports).

What is removed: every secret value the process knows (the settings' secrets and any
``*_KEY``, ``*_SECRET``, ``*_TOKEN``, ``*_PASSWORD``, ``*_DSN`` variable of the environment),
every e-mail address, and the token of any download path (a link is a bearer credential).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from gated_delivery.config import CoreSettings

REDACTED: Final = "[redacted]"
_SECRET_NAME: Final = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|DSN)$")
_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_DOWNLOAD_PATH: Final = re.compile(r"(/download/)[^/\s\"'?#]+")
#: Secrets shorter than this are not searched for: "1" would redact every digit.
_MIN_SECRET: Final = 6


def secret_values(settings: CoreSettings | None = None) -> list[str]:
    """Every secret string this process holds: the settings' and the environment's."""
    found = [
        value.get_secret_value()
        for value in (
            (
                settings.secret_key,
                settings.smtp_password,
                settings.sentry_dsn,
                settings.metrics_token,
            )
            if settings
            else ()
        )
        if value is not None
    ]
    found += [value for name, value in os.environ.items() if _SECRET_NAME.search(name.upper())]
    # longest first, so a secret containing another is replaced whole
    return sorted({v for v in found if len(v) >= _MIN_SECRET}, key=len, reverse=True)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` without the secrets, e-mail addresses and download tokens in it."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "@" in text:
        text = _EMAIL.sub(REDACTED, text)
    if "/download/" in text:
        text = _DOWNLOAD_PATH.sub(r"\1[token]", text)
    return text


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (a structure of dicts, lists and strings) with every string redacted."""
    secrets = list(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    return value
