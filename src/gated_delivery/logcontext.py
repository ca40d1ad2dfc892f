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
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TextIO

#: The fields a record may carry, in the order the text format prints them.
FIELDS: Final = ("order_id", "attempt_id", "provider", "provider_ref", "job_id", "job_kind")
_DOWNLOAD_PATH: Final = re.compile(r"(/download/)[^/\s\"'?#]+")

_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "gated_delivery_log_context", default={}
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
    """Add ids learnt midway (the provider's reference) until the enclosing ``bind`` ends."""
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
    """Replaces the token of a download path in any record (an access log, an HTTP client).

    A download link is a bearer credential: whoever reads it in a log could use it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record``'s message if it holds a download path; never drops it."""
        message = record.getMessage()
        if "/download/" in message:
            record.msg, record.args = _DOWNLOAD_PATH.sub(r"\1[token]", message), ()
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
            line["error"] = self.formatException(record.exc_info)
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


def make_handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler with the context filter and the formatter named ``json`` or ``text``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.set_name("gated_delivery")
    return handler


def configure_logging(log_format: str, level: str, stream: TextIO | None = None) -> None:
    """Send every record (ours, uvicorn's, Celery's) to one handler in the chosen format.

    Replaces the handler a previous call installed; leaves a host app's other handlers be.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "gated_delivery":
            root.removeHandler(handler)
    root.addHandler(make_handler(log_format, stream))
    root.setLevel(level.upper())
