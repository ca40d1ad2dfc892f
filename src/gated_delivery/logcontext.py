"""Log records that carry the order: context set once per request or job, two formats.

A route or a job opens ``bind(order_id=..., provider=...)`` once; every record logged inside,
by any module, then carries those ids (``ContextFilter`` copies them onto the record), so no
log call repeats them by hand. Only ids are bound: never an e-mail, a name, a token or a
signature. ``configure_logging`` installs the handler the commands use: readable text by
default, JSON lines with ``GD_LOG_FORMAT=json``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, TextIO

from gated_delivery.config import CoreSettings
from gated_delivery.redaction import redact, secret_values

#: The fields a record may carry, in the order the text format prints them.
FIELDS: Final = ("order_id", "attempt_id", "provider", "provider_ref", "job_id", "job_kind")

_NOTHING: Final[Mapping[str, str]] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "gated_delivery_log_context", default=_NOTHING
)
#: Ids read when a record is made, not when the block opens: a request's path parameters
#: are known only once the router has matched, after the middleware that binds them ran.
_lazy: contextvars.ContextVar[Callable[[], Mapping[str, str]] | None] = contextvars.ContextVar(
    "gated_delivery_lazy_log_context", default=None
)


def _clean(fields: Mapping[str, object]) -> dict[str, str]:
    unknown = set(fields) - set(FIELDS)
    if unknown:  # a typo, or an attempt to log something that is not an id
        raise ValueError(f"unknown log context field(s) {sorted(unknown)}; use {FIELDS}")
    return {key: str(value) for key, value in fields.items() if value not in (None, "")}


@contextlib.contextmanager
def bind(**fields: object) -> Iterator[None]:
    """Add ids to every record logged inside the block (None and "" are left out)."""
    token = _context.set({**_context.get(), **_clean(fields)})
    try:
        yield
    finally:
        _context.reset(token)


@contextlib.contextmanager
def bind_lazily(source: Callable[[], Mapping[str, str]]) -> Iterator[None]:
    """Inside the block, records also carry what ``source()`` returns when they are made.

    Ids bound with ``bind`` or ``add`` win over the source's; those added inside the block
    are forgotten at its end.
    """
    token = _lazy.set(source)
    bound = _context.set(_context.get())
    try:
        yield
    finally:
        _context.reset(bound)
        _lazy.reset(token)


def add(**fields: object) -> None:
    """Add ids learnt midway (the provider's reference) until the enclosing ``bind`` ends.

    Call it only inside a ``bind`` or ``bind_lazily`` block (a request, a job): outside
    one, the ids would stay on for whatever the task logs next.
    """
    _context.set({**_context.get(), **_clean(fields)})


def current() -> dict[str, str]:
    """The ids bound now (error reports tag themselves with them)."""
    source = _lazy.get()
    found = {k: v for k, v in source().items() if k in FIELDS and v} if source else {}
    return {**found, **_context.get()}


class ContextFilter(logging.Filter):
    """Copies the bound ids onto each record (as attributes named after ``FIELDS``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate ``record``; never drops it."""
        bound = current()
        for key in FIELDS:
            if not hasattr(record, key) and key in bound:
                setattr(record, key, bound[key])
        return True


class RedactFilter(logging.Filter):
    """Takes secrets, e-mail addresses and download tokens out of every record.

    An access log line holds the download path, an error's text may quote an address or a
    key: the message, and the traceback, are redacted before any formatter sees them.
    """

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drops it."""
        record.msg, record.args = redact(record.getMessage(), self.secrets), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def _context_of(record: logging.LogRecord) -> dict[str, str]:
    return {key: str(getattr(record, key)) for key in FIELDS if hasattr(record, key)}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound ids, the error."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_context_of(record),
        }
        if record.exc_info:
            line["error"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: message [order_id=... provider=...]``, for people."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as readable text, its ids in brackets."""
        text = super().format(record)
        ids = " ".join(f"{key}={value}" for key, value in _context_of(record).items())
        if not ids:
            return text
        first, newline, rest = text.partition("\n")  # keep a traceback below the ids
        return f"{first} [{ids}]{newline}{rest}"


def make_handler(
    log_format: str, stream: TextIO | None = None, secrets: Sequence[str] = ()
) -> logging.Handler:
    """A stream handler that adds the ids, redacts, and formats as ``json`` or ``text``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter(secrets))
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.set_name("gated_delivery")
    return handler


def configure_logging(
    log_format: str, level: str, stream: TextIO | None = None, secrets: Sequence[str] = ()
) -> None:
    """Send every record (ours, uvicorn's, Celery's) to one handler in the chosen format.

    ``secrets`` (see ``redaction.secret_values``) are replaced wherever they appear.
    Replaces the handler a previous call installed; leaves a host app's other handlers be.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "gated_delivery":
            root.removeHandler(handler)
    root.addHandler(make_handler(log_format, stream, secrets))
    root.setLevel(level.upper())


def configure_logging_from(settings: CoreSettings) -> None:
    """``configure_logging`` with ``GD_LOG_FORMAT``, ``GD_LOG_LEVEL`` and the known secrets."""
    configure_logging(settings.log_format, settings.log_level, secrets=secret_values(settings))
