"""Refusing addresses inside the shop's network (webhooks/destinations.py)."""

from __future__ import annotations

import pytest

from gated_delivery.errors import DestinationRefused
from gated_delivery.webhooks import destinations


def stub(*addresses: str) -> destinations.Resolver:
    """A resolver that answers ``addresses`` for any name."""

    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


INSIDE = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "::1"]
INSIDE += ["fe80::1", "fd00::1", "0.0.0.0", "100.64.0.1", "::ffff:127.0.0.1", "224.0.0.1"]


@pytest.mark.parametrize("address", INSIDE)
async def test_a_name_resolving_inside_is_refused(address: str) -> None:
    with pytest.raises(DestinationRefused, match="GD_WEBHOOKS_ALLOW_PRIVATE"):
        await destinations.resolve(
            "https://crm.example.com/hooks",
            allow_private=False,
            allow_http=False,
            resolver=stub(address),
        )


async def test_one_inside_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(DestinationRefused, match=r"10\.0\.0\.5"):
        await destinations.resolve(
            "https://crm.example.com/hooks",
            allow_private=False,
            allow_http=False,
            resolver=stub("93.184.215.14", "10.0.0.5"),
        )


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://10.0.0.1:8443/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
    ],
)
async def test_literal_inside_addresses_are_refused_without_asking_dns(url: str) -> None:
    with pytest.raises(DestinationRefused):
        await destinations.resolve(
            url, allow_private=False, allow_http=False, resolver=stub("93.184.215.14")
        )


async def test_the_setting_allows_inside_addresses() -> None:
    found = await destinations.resolve(
        "https://crm.internal:8443/hooks",
        allow_private=True,
        allow_http=False,
        resolver=stub("10.0.0.5"),
    )
    # the request goes to the address that was checked, naming the host to the server
    assert str(found.connect_url) == "https://10.0.0.5:8443/hooks"
    assert found.host == "crm.internal"
    assert found.host_header == "crm.internal:8443"


async def test_a_public_address_is_used_as_resolved() -> None:
    found = await destinations.resolve(
        "https://crm.example.com/hooks?x=1",
        allow_private=False,
        allow_http=False,
        resolver=stub("2606:2800:21f:cb07:6820:80da:af6b:8b2c"),
    )
    assert str(found.connect_url) == "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hooks?x=1"
    assert found.host_header == "crm.example.com"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://crm.example.com/hooks", "only https://"),
        ("ftp://crm.example.com/hooks", "only https://"),
        ("https://user:pw@crm.example.com/hooks", "user name or password"),
        ("https:///hooks", "no host"),
        ("https://" + "a" * 2000 + ".com/", "longer than"),
    ],
)
def test_malformed_or_plain_http_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(DestinationRefused, match=message):
        destinations.check_url(url, allow_http=False)


def test_plain_http_is_allowed_in_the_sandbox() -> None:
    assert destinations.check_url("http://127.0.0.1:9/x", allow_http=True).scheme == "http"
