"""Secrets in paths never reach the access log (log_redaction.py)."""

from __future__ import annotations

import logging

import pytest

from gated_delivery.log_redaction import RedactSecretPaths, redact_path


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/download/eyJ0IjoiQUJDIn0.ZXhw.c2lnbmF0dXJlc2lnbmF0dXJl", "/download/[redacted]"),
        ("/download/short/renew", "/download/[redacted]/renew"),
        ("/purchases/open/abc.def", "/purchases/open/[redacted]"),
        ("/achats/InRva2VuIg.Zj8xYQ.abcdefghijklmnopqrstu", "/achats/[redacted]"),
        ("/x?token=abc&page=2", "/x?token=[redacted]&page=2"),
        ("/commande/Wchff3jzDNYY9f4ZGfVlvc?retour=1", "/commande/Wchff3jzDNYY9f4ZGfVlvc?retour=1"),
        ("/staff/orders?q=awa", "/staff/orders?q=awa"),
    ],
)
def test_redact_path(path: str, shown: str) -> None:
    assert redact_path(path) == shown


def test_the_filter_rewrites_uvicorns_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/download/secret-token-value", "1.1", 200),
        None,
    )
    assert RedactSecretPaths().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "POST /download/[redacted] HTTP/1.1" 200'
