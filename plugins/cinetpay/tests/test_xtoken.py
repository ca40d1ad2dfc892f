"""The x-token rule (xtoken.py), pinned by a test vector computed outside this code.

The vector: the fields and secret below, concatenated by hand in the documented order and
signed with ``openssl dgst -sha256 -hmac sk_demo_0123456789``. If the signing code changes,
these tests fail instead of the change passing silently.
"""

from __future__ import annotations

import pytest
from gated_delivery_cinetpay import xtoken

SECRET = "sk_demo_0123456789"
BODY = (
    b"cpm_site_id=445160&cpm_trans_id=GD-20240315-0001&cpm_trans_date=2024-03-15+14%3A22%3A05"
    b"&cpm_amount=1500&cpm_currency=XOF&signature=a1b2c3d4e5f6&payment_method=OM"
    b"&cel_phone_num=0707070707&cpm_phone_prefixe=225&cpm_language=fr&cpm_version=V4"
    b"&cpm_payment_config=SINGLE&cpm_page_action=PAYMENT&cpm_custom=order-17"
    b"&cpm_designation=Ebook+purchase&cpm_error_message=SUCCES"
)
FORM = "application/x-www-form-urlencoded"
#: Written out by hand from the rule, not produced by the code under test.
SIGNED = (
    "445160GD-20240315-00012024-03-15 14:22:051500XOFa1b2c3d4e5f6OM0707070707225frV4"
    "SINGLEPAYMENTorder-17Ebook purchaseSUCCES"
)
X_TOKEN = "c9e3f9a9af20685d2d1014c9867c98a5d702f7840060b847e25b3320f1de9551"
#: The same notification without cpm_custom and cpm_error_message (CinetPay omits empties).
X_TOKEN_WITHOUT_EMPTIES = "6a9f28744f2c0480c1a0aac818233c21b63af30226941d3dd152c48108f3d032"
#: cpm_trans_id before cpm_site_id: the order of the doc's field list, not of its formula.
X_TOKEN_SWAPPED = "416234eaa25796fb12686cd0f41a1b82eda80a6cd3ebe4d19587a48856e4cfba"


async def fields_of(body: bytes) -> list[xtoken.Field]:
    return await xtoken.read_form(FORM, {"content-type": FORM}, body)


async def test_vector_signed_string_is_the_documented_concatenation() -> None:
    fields = await fields_of(BODY)
    assert xtoken.signed_string(dict(fields)) == SIGNED


async def test_vector_x_token() -> None:
    fields = await fields_of(BODY)
    assert xtoken.x_token(SECRET, dict(fields)) == X_TOKEN
    assert xtoken.matches(SECRET, fields, X_TOKEN)


async def test_vector_absent_fields_count_as_empty_strings() -> None:
    body = BODY.replace(b"&cpm_custom=order-17", b"").replace(b"&cpm_error_message=SUCCES", b"")
    fields = await fields_of(body)
    assert xtoken.x_token(SECRET, dict(fields)) == X_TOKEN_WITHOUT_EMPTIES
    assert not xtoken.matches(SECRET, fields, X_TOKEN)


async def test_vector_swapped_order_is_another_token_and_refused() -> None:
    fields = await fields_of(BODY)
    assert xtoken.compute(SECRET, "GD-20240315-0001445160" + SIGNED[22:]) == X_TOKEN_SWAPPED
    assert not xtoken.matches(SECRET, fields, X_TOKEN_SWAPPED)


async def test_values_are_byte_exact_not_trimmed_or_coerced() -> None:
    padded = BODY.replace(b"cpm_amount=1500", b"cpm_amount=1500.0")
    assert not xtoken.matches(SECRET, await fields_of(padded), X_TOKEN)
    spaced = BODY.replace(b"cpm_currency=XOF", b"cpm_currency=XOF+")
    assert not xtoken.matches(SECRET, await fields_of(spaced), X_TOKEN)


async def test_the_api_key_is_not_the_signing_key() -> None:
    fields = await fields_of(BODY)
    assert not xtoken.matches("the-api-key-instead", fields, X_TOKEN)


async def test_arrival_order_is_accepted_as_the_php_sample_signs() -> None:
    # the same values, posted in another order and signed the way the PHP sample checks
    fields = await fields_of(BODY)
    reordered = [fields[1], fields[0], *fields[2:]]
    token = xtoken.compute(SECRET, xtoken.arrival_string(reordered))
    assert xtoken.matches(SECRET, reordered, token)


async def test_multipart_bodies_give_the_same_fields() -> None:
    fields = await fields_of(BODY)
    boundary = "gdboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    parsed = await xtoken.read_form("multipart/form-data", {"content-type": content_type}, body)
    assert parsed == fields
    assert xtoken.matches(SECRET, parsed, X_TOKEN)


@pytest.mark.parametrize(
    "body",
    [BODY + b"&cpm_amount=1", b"cpm_amount=%FF%FE", b"\xff\xfe"],
    ids=["repeated field", "bad percent-encoding", "not utf-8"],
)
async def test_ambiguous_or_unreadable_forms_are_refused(body: bytes) -> None:
    with pytest.raises(xtoken.UnreadableForm):
        await fields_of(body)
