"""``gated-delivery check`` asks each API generation whether it accepts the credentials."""

from __future__ import annotations

import pytest
from gated_delivery_cinetpay import CheckRefused, CinetPay, CinetPayV1, LoginRefused
from pydantic import SecretStr

from .conftest import SimulatorServer, V1Server, make_config, make_v1_config


async def test_the_current_api_logs_in_anew(v1_server: V1Server) -> None:
    provider = CinetPayV1(make_v1_config(v1_server.api_url))
    logins = v1_server.simulator.logins
    assert "accepted the API key and password" in await provider.check_credentials()
    assert "accepted" in await provider.check_credentials()
    assert v1_server.simulator.logins == logins + 2  # a check never trusts the cache


async def test_the_current_api_names_refused_credentials(v1_server: V1Server) -> None:
    config = make_v1_config(v1_server.api_url, api_password=SecretStr("wrong-password-42"))
    with pytest.raises(LoginRefused) as refused:
        await CinetPayV1(config).check_credentials()
    assert "CINETPAY_API_PASSWORD" in str(refused.value)
    assert "wrong-password-42" not in str(refused.value)


async def test_the_legacy_api_is_asked_about_an_unknown_transaction(
    cinetpay_server: SimulatorServer,
) -> None:
    provider = CinetPay(make_config(cinetpay_server.api_url))
    checks = cinetpay_server.simulator.checks
    assert "did not refuse the API key and site id" in await provider.check_credentials()
    assert cinetpay_server.simulator.checks == checks + 1


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"api_key": SecretStr("wrong-apikey-123")}, "CINETPAY_API_KEY"),
        ({"site_id": "9"}, "CINETPAY_SITE_ID"),
    ],
)
async def test_the_legacy_api_names_refused_credentials(
    cinetpay_server: SimulatorServer, changes: dict[str, object], variable: str
) -> None:
    provider = CinetPay(make_config(cinetpay_server.api_url, **changes))
    with pytest.raises(CheckRefused) as refused:
        await provider.check_credentials()
    assert variable in str(refused.value)
    assert "wrong-apikey-123" not in str(refused.value)
