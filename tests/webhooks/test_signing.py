"""Secrets and signatures (webhooks/signing.py), checked against the standardwebhooks library."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from gated_delivery.errors import ConfigurationError, InvalidInput
from gated_delivery.webhooks import signing

KEY = "a-secret-key-for-tests-" + "k" * 20


def test_our_signature_is_the_librarys() -> None:
    secret = signing.new_secret()
    at = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    body = '{"type":"order.paid","data":{"note":"é"}}'.encode()
    ours = signing.sign(secret, "evt_1", int(at.timestamp()), body)
    assert ours == Webhook(secret).sign("evt_1", at, body)


def test_every_live_secret_signs_a_message() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    headers = signing.headers([new, old], "evt_1", 1_790_000_000, b"{}")
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == "1790000000"
    assert headers["webhook-signature"].split(" ") == [
        signing.sign(new, "evt_1", 1_790_000_000, b"{}"),
        signing.sign(old, "evt_1", 1_790_000_000, b"{}"),
    ]


def test_new_secrets_are_random_and_well_formed() -> None:
    secrets = {signing.new_secret() for _ in range(20)}
    assert len(secrets) == 20
    assert all(len(signing.secret_bytes(s)) == signing.SECRET_BYTES for s in secrets)


@pytest.mark.parametrize("bad", ["abc", "whsec_***", "whsec_" + "QUJD" * 2])
def test_a_malformed_secret_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        signing.secret_bytes(bad)


def test_the_box_keeps_secrets_unreadable_without_the_key() -> None:
    secret = signing.new_secret()
    sealed = signing.SecretBox(KEY).seal(secret)
    assert secret not in sealed
    assert secret[6:] not in sealed
    assert signing.SecretBox(KEY).open(sealed) == secret
    with pytest.raises(ConfigurationError, match="GD_SECRET_KEY changed") as refused:
        signing.SecretBox(KEY + "x").open(sealed)
    assert secret not in str(refused.value)
