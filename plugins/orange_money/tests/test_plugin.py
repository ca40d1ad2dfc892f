"""The hooks: when the plugin is enabled, how its settings are checked, what sandbox mounts."""

from __future__ import annotations

from pathlib import Path

import pytest
from gated_delivery_orange_money import OrangeMoney
from gated_delivery_orange_money import plugin as om_plugin
from gated_delivery_orange_money.settings import (
    SANDBOX_CLIENT_ID,
    VARIABLES,
)

from gated_delivery import plugins
from gated_delivery.config import CoreSettings
from gated_delivery.errors import ConfigurationError

from .conftest import CLIENT_SECRET


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def core(*, sandbox: bool = False) -> CoreSettings:
    return CoreSettings(
        secret_key="k" * 40, sandbox=sandbox, base_url="http://127.0.0.1:8123", _env_file=None
    )


def offered(settings: CoreSettings) -> dict[str, object]:
    pm = plugins.make_plugin_manager([om_plugin], load_entry_points=False)
    return dict(plugins.payment_providers(pm, settings))


def test_installed_but_unconfigured_offers_nothing() -> None:
    assert "orange-money" not in offered(core())


def test_sandbox_mode_points_at_the_simulator() -> None:
    provider = offered(core(sandbox=True))["orange-money"]
    assert isinstance(provider, OrangeMoney)
    assert provider.settings.api_url == "http://127.0.0.1:8123/sandbox/orange-money"
    assert provider.settings.client_id == SANDBOX_CLIENT_ID
    assert (provider.settings.country, provider.settings.api_currency) == ("dev", "OUV")


def test_one_variable_set_requires_the_others_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OM_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("OM_COUNTRY", "ci")
    with pytest.raises(ConfigurationError) as info:
        offered(core(sandbox=True))  # configured values win over the sandbox defaults
    message = str(info.value)
    assert message.startswith("OM_CLIENT_ID, OM_MERCHANT_KEY are not set")
    assert CLIENT_SECRET not in message


def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OM_COUNTRY", "c1/../x")
    with pytest.raises(ConfigurationError, match="OM_COUNTRY: Value error, must be a lower-case"):
        offered(core())


def test_fully_configured_production_account(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "OM_CLIENT_ID": "cid",
        "OM_CLIENT_SECRET": CLIENT_SECRET,
        "OM_MERCHANT_KEY": "1a2b3c4d",
        "OM_COUNTRY": "SN",
        "OM_LANG": "en",
    }.items():
        monkeypatch.setenv(name, value)
    provider = offered(core())["orange-money"]
    assert isinstance(provider, OrangeMoney)
    settings = provider.settings
    assert (settings.api_url, settings.country, settings.api_currency, settings.lang) == (
        "https://api.orange.com",
        "sn",
        "XOF",
        "en",
    )
    assert CLIENT_SECRET not in repr(provider) + repr(settings)


def test_the_simulator_is_mounted_only_in_sandbox_mode() -> None:
    from gated_delivery.runtime import build_runtime
    from gated_delivery.web.app import create_app

    for sandbox in (False, True):
        settings = core(sandbox=sandbox)
        rt = build_runtime(settings, plugins_extra=[om_plugin], load_entry_points=False)
        app = create_app(runtime=rt, run_worker=False)
        paths = {getattr(r, "path", "") for r in app.routes}
        mounted = "/sandbox/orange-money/control/{order_id}" in paths
        assert mounted is sandbox
