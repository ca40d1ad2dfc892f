"""Keeping secrets out of the access log: tokens in paths are written as ``[redacted]``.

A download link is ``/download/<token>``: whoever reads an access log line with it could
download the buyer's file. The filter rewrites the path of every access log record
(uvicorn's ``uvicorn.access`` logger, or any logger named in ``install``) before it is
formatted: the segment after ``/download/`` and ``/purchases/open/`` ("Mes achats"), any
other segment that looks like a signed token (long, URL-safe, dotted), and the value of
query parameters that carry secrets.
"""

from __future__ import annotations

import logging
import re
from typing import Final

#: Path segments that name a secret, whatever they look like.
SECRET_AFTER: Final = re.compile(r"(/(?:download|purchases/open)/)[^/?#\s]+")
#: A signed token (itsdangerous: base64 parts joined by dots) or any long random string.
TOKEN_LIKE: Final = re.compile(
    r"(?<=/)[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_.-]{16,}|(?<=/)[A-Za-z0-9_-]{40,}"
)
SECRET_QUERY: Final = re.compile(
    r"([?&](?:token|key|signature|sig|secret|password)=)[^&#\s]*", re.I
)
REDACTED: Final = "[redacted]"


def redact_path(path: str) -> str:
    """``path`` with every secret-looking part replaced by ``[redacted]``."""
    path = SECRET_AFTER.sub(rf"\g<1>{REDACTED}", path)
    path = TOKEN_LIKE.sub(REDACTED, path)
    return SECRET_QUERY.sub(rf"\g<1>{REDACTED}", path)


class RedactSecretPaths(logging.Filter):
    """Rewrites the arguments of access log records so that no token reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact string arguments (uvicorn passes the path as one) and the message itself."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_path(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        return True


def install(*logger_names: str) -> None:
    """Add the filter to these loggers (default: uvicorn's access log), once each."""
    for name in logger_names or ("uvicorn.access",):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretPaths) for f in logger.filters):
            logger.addFilter(RedactSecretPaths())
