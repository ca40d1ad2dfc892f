"""Bounded JSON nesting (safe_json.py), and the notify route refusing deep bodies."""

from __future__ import annotations

import logging

import httpx
import pytest

from gated_delivery import safe_json

DEEP = b"[" * 30_000 + b"]" * 30_000


def test_depth_ignores_brackets_inside_strings() -> None:
    assert safe_json.depth(b'{"a": "[[[[[[", "b": [1, {"c": "\\"]]]"}]}') == 3
    assert safe_json.depth(b"") == 0


def test_a_deep_body_is_refused_before_parsing() -> None:
    with pytest.raises(safe_json.JSONTooDeep):
        safe_json.loads(DEEP)
    assert safe_json.loads(b'{"a": [1, 2]}') == {"a": [1, 2]}


async def test_a_deep_notification_is_400_without_a_traceback(
    gd_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await gd_client.post(
            "/payments/fake/notify", content=DEEP, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert "deeper than" in response.text
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
