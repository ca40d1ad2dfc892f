"""``Wave-Signature``: the worked example of the protocol notes, byte for byte, and every way
a header can be wrong. The expected MAC below was written down from the notes, not computed
by the code under test."""

from __future__ import annotations

import pytest
from gated_delivery_wave import signature
from gated_delivery_wave.signature import SignatureInvalid

SECRET = b"wave_sn_WHS_example_secret_0000000000"
T = 1718445600
BODY = (
    b'{"id":"EV_example0001","type":"checkout.session.completed","data":{"id":"cos-18qq25rgr100a",'
    b'"amount":"2500","currency":"XOF","checkout_status":"complete","payment_status":"succeeded",'
    b'"client_reference":"gd-7f3a9c21","transaction_id":"TCN4Y4ZC3FM"}}'
)
EXPECTED = "e4204a8eb850849313bae75687291fb669f5f27c775b6028a3fe24ce2ee05cb5"
WITH_A_DOT = "4dae3053"  # the first characters of the wrong, dotted scheme's MAC


def test_the_worked_example() -> None:
    assert len(BODY) == 248
    assert signature.mac(SECRET, str(T), BODY) == EXPECTED
    assert signature.sign(SECRET, T, BODY) == f"t={T},v1={EXPECTED}"
    assert signature.verify(SECRET, f"t={T},v1={EXPECTED}", BODY, now=T + 10) == T


def test_the_dotted_scheme_of_a_community_simulator_is_refused() -> None:
    assert not signature.mac(SECRET, str(T), BODY).startswith(WITH_A_DOT)
    assert signature.mac(SECRET, f"{T}.", BODY).startswith(WITH_A_DOT)
    dotted = signature.mac(SECRET, f"{T}.", BODY)
    with pytest.raises(SignatureInvalid, match="no Wave-Signature v1 matches"):
        signature.verify(SECRET, f"t={T},v1={dotted}", BODY, now=T)


def test_any_of_several_v1_may_match_in_any_order() -> None:
    other = "0" * 64
    for header in (f"t={T},v1={other},v1={EXPECTED}", f"v1={EXPECTED}, t={T}, v0=abc"):
        assert signature.verify(SECRET, header, BODY, now=T) == T


@pytest.mark.parametrize(
    ("header", "body", "now", "says"),
    [
        ("", BODY, T, "no Wave-Signature header"),
        (f"v1={EXPECTED}", BODY, T, "exactly one numeric t="),
        (f"t={T},t={T},v1={EXPECTED}", BODY, T, "exactly one numeric t="),
        (f"t=17184456OO,v1={EXPECTED}", BODY, T, "exactly one numeric t="),
        (f"t={T}", BODY, T, "no v1="),
        (f"t={T},v1={EXPECTED[:-1]}", BODY, T, "no v1="),
        (f"t={T},v1={EXPECTED}", BODY + b" ", T, "no Wave-Signature v1 matches"),
        (f"t={T + 1},v1={EXPECTED}", BODY, T, "no Wave-Signature v1 matches"),
        (f"t={T},v1={EXPECTED}", BODY, T + 301, "more than 300 s"),
        (f"t={T},v1={EXPECTED}", BODY, T - 301, "more than 300 s"),
        ("t=1," + "v1=" + "a" * 3000, BODY, T, "too long"),
    ],
    ids=[
        "missing",
        "no-t",
        "two-t",
        "t-not-digits",
        "no-v1",
        "short-v1",
        "body-changed",
        "t-changed",
        "stale",
        "from-the-future",
        "absurd",
    ],
)
def test_bad_headers_are_refused_saying_why(header: str, body: bytes, now: int, says: str) -> None:
    with pytest.raises(SignatureInvalid, match=says) as info:
        signature.verify(SECRET, header, body, now=now)
    assert SECRET.decode() not in str(info.value)
    assert EXPECTED not in str(info.value)


def test_the_window_is_configurable() -> None:
    header = f"t={T},v1={EXPECTED}"
    assert signature.verify(SECRET, header, BODY, now=T + 500, tolerance_seconds=600) == T
    with pytest.raises(SignatureInvalid, match="more than 60 s"):
        signature.verify(SECRET, header, BODY, now=T + 61, tolerance_seconds=60)
