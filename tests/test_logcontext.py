"""The log context and formats (logcontext.py) and what redaction.py takes out."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gated_delivery import logcontext
from gated_delivery.logcontext import make_handler

SECRET = "a-secret-value-of-the-tests"


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO, io.StringIO]]:
    """A logger with a JSON and a text handler (each with the filters of the commands)."""
    as_json, as_text = io.StringIO(), io.StringIO()
    log = logging.getLogger("gated_delivery.tests.logcontext")
    log.propagate = False
    log.setLevel(logging.INFO)
    handlers = [make_handler("json", as_json, [SECRET]), make_handler("text", as_text, [SECRET])]
    for handler in handlers:
        log.addHandler(handler)
    yield log, as_json, as_text
    for handler in handlers:
        log.removeHandler(handler)


def test_bound_ids_reach_every_record_and_end_with_their_block(
    logger: tuple[logging.Logger, io.StringIO, io.StringIO],
) -> None:
    log, as_json, as_text = logger
    with logcontext.bind(order_id="O1", provider="fake", attempt_id=None):
        log.info("one")
        logcontext.add(provider_ref="REF9")
        log.info("two")
    log.info("three")
    lines = [json.loads(line) for line in as_json.getvalue().splitlines()]
    assert [(x["message"], x.get("order_id"), x.get("provider_ref")) for x in lines] == [
        ("one", "O1", None),
        ("two", "O1", "REF9"),
        ("three", None, None),
    ]
    assert "attempt_id" not in lines[0]  # None is left out
    assert (
        as_text.getvalue()
        .splitlines()[1]
        .endswith("two [order_id=O1 provider=fake provider_ref=REF9]")
    )


def test_only_ids_can_be_bound() -> None:
    with pytest.raises(ValueError, match="unknown log context field"), logcontext.bind(email="x"):
        pass


def test_secrets_addresses_and_download_tokens_never_reach_a_line(
    logger: tuple[logging.Logger, io.StringIO, io.StringIO],
) -> None:
    log, as_json, as_text = logger
    log.info('"POST /download/IlNOSUVjNjRMS2hp.OdLI6jEc HTTP/1.1" 200')
    try:
        raise RuntimeError(f"refused awa@example.org with {SECRET}")
    except RuntimeError:
        log.exception("failed for %s", "moussa@example.org")
    for text in (as_json.getvalue(), as_text.getvalue()):
        for leak in ("IlNOSUVjNjRMS2hp", "awa@example.org", "moussa@example.org", SECRET):
            assert leak not in text
        assert "/download/[token]" in text
    last = json.loads(as_json.getvalue().splitlines()[-1])
    assert "RuntimeError: refused [redacted] with [redacted]" in last["error"]
    assert last["message"] == "failed for [redacted]"
