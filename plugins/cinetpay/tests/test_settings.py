"""When the plugin is enabled, and what stops start-up (settings.py, plugin.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gated_delivery_cinetpay import CinetPay, CinetPayV1, CinetPayV1Config, load_config
from gated_delivery_cinetpay import plugin as cinetpay_plugin
from gated_delivery_cinetpay.settings import DEFAULT_API_URL, LONGEST_PATH

from gated_delivery import plugins
from gated_delivery.config import CoreSettings
from gated_delivery.errors import ConfigurationError

VARIABLES = (
    "API_URL",
    "API_KEY",
    "API_PASSWORD",
    "SITE_ID",
    "SECRET_KEY",
    "CHANNELS",
    "CHANNEL",
    "LANG",
    "SESSION_MINUTES",
    "SANDBOX_API",
)
API_KEY = "live-apikey-0123456789"
SECRET = "live-secret-0123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in VARIABLES:
        monkeypatch.delenv(f"CINETPAY_{name}", raising=False)


def core(**changes: Any) -> CoreSettings:
    values: dict[str, Any] = {"secret_key": "k" * 40, "base_url": "https://shop.example.org"}
    return CoreSettings(**(values | changes))


def configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"CINETPAY_{name.upper()}", value)


def test_nothing_set_offers_nothing() -> None:
    assert load_config(core()) is None
    pm = plugins.make_plugin_manager([cinetpay_plugin], load_entry_points=False)
    assert plugins.payment_providers(pm, core()) == {}


def test_all_set_offers_cinetpay_on_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api_key=API_KEY, site_id="445160", secret_key=SECRET, lang="en")
    pm = plugins.make_plugin_manager([cinetpay_plugin], load_entry_points=False)
    provider = plugins.payment_providers(pm, core())["cinetpay"]
    assert isinstance(provider, CinetPay)
    assert provider.config.api_url == DEFAULT_API_URL
    assert provider.config.lang == "en"
    assert API_KEY not in repr(provider)
    assert SECRET not in repr(provider.config)


@pytest.mark.parametrize("missing", ["api_key", "site_id", "secret_key"])
def test_a_missing_credential_is_named(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    values = {"api_key": API_KEY, "site_id": "445160", "secret_key": SECRET}
    del values[missing]
    configure(monkeypatch, **values)
    with pytest.raises(ConfigurationError, match=f"CINETPAY_{missing.upper()} is not set"):
        load_config(core())


def test_only_options_set_names_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, channels="MOBILE_MONEY")
    with pytest.raises(ConfigurationError, match="CINETPAY_API_KEY is not set"):
        load_config(core())


@pytest.mark.parametrize(
    ("name", "value"),
    [("site_id", "ab12"), ("channels", "MOBILE_MONEY,CREDIT_CARD"), ("api_url", "ftp://x")],
)
def test_bad_values_name_the_variable_not_the_secret(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    values = {"api_key": API_KEY, "site_id": "445160", "secret_key": SECRET, name: value}
    configure(monkeypatch, **values)
    with pytest.raises(ConfigurationError, match=f"CINETPAY_{name.upper()}") as info:
        load_config(core())
    assert SECRET not in str(info.value)
    assert API_KEY not in str(info.value)


def test_a_short_secret_key_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api_key=API_KEY, site_id="445160", secret_key="abc")
    with pytest.raises(ConfigurationError, match="CINETPAY_SECRET_KEY") as info:
        load_config(core())
    assert "abc" not in str(info.value)


def test_a_local_base_url_is_refused_for_the_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api_key=API_KEY, site_id="445160", secret_key=SECRET)
    with pytest.raises(ConfigurationError, match="GD_BASE_URL"):
        load_config(core(base_url="http://127.0.0.1:8000"))


def test_the_v2_suffix_of_the_docs_is_tolerated(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api_key=API_KEY, site_id="445160", secret_key=SECRET)
    configure(monkeypatch, api_url="https://api-checkout.cinetpay.com/v2/")
    config = load_config(core())
    assert config is not None
    assert config.api_url == DEFAULT_API_URL


def test_sandbox_mode_can_show_the_legacy_api(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, sandbox_api="v2")
    sandbox = core(sandbox=True, base_url="http://127.0.0.1:8000")
    config = load_config(sandbox)
    assert config is not None
    assert config.is_sandbox
    assert config.api_url == "http://127.0.0.1:8000/sandbox/cinetpay"
    other = load_config(core(sandbox=True, secret_key="z" * 40))
    assert other is not None  # another GD_SECRET_KEY gives other sandbox credentials
    assert config.secret_key.get_secret_value() != other.secret_key.get_secret_value()
    pm = plugins.make_plugin_manager([cinetpay_plugin], load_entry_points=False)
    providers = plugins.payment_providers(pm, sandbox)
    assert set(providers) == {"cinetpay", "fake"}
    paths = {route.path for route in plugins.sandbox_routes(pm, sandbox, providers)}
    assert "/sandbox/cinetpay/v2/payment" in paths
    assert "/sandbox/cinetpay/control/{transaction_id}" in paths


def test_the_simulator_is_never_mounted_for_the_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api_key=API_KEY, site_id="445160", secret_key=SECRET)
    sandbox = core(sandbox=True)
    pm = plugins.make_plugin_manager([cinetpay_plugin], load_entry_points=False)
    providers = plugins.payment_providers(pm, sandbox)
    assert providers["cinetpay"].display_name.startswith("CinetPay")
    paths = {route.path for route in plugins.sandbox_routes(pm, sandbox, providers)}
    assert not any(path.startswith("/sandbox/cinetpay") for path in paths)


def test_the_entry_point_is_installed() -> None:
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="gated_delivery")}
    assert found.get("cinetpay") == "gated_delivery_cinetpay.plugin"


# --- the current API (v1) -------------------------------------------------------------------

V1_TEST_KEY = "sk_test_" + "0123456789abcdef"
V1_LIVE_KEY = "sk_live_" + "0123456789abcdef"
V1_PASSWORD = "api-password-0123456789"


@pytest.mark.parametrize(
    ("key", "url"),
    [(V1_TEST_KEY, "https://api.cinetpay.net"), (V1_LIVE_KEY, "https://api.cinetpay.co")],
)
def test_an_api_password_chooses_the_current_api_with_the_url_of_the_key(
    monkeypatch: pytest.MonkeyPatch, key: str, url: str
) -> None:
    configure(monkeypatch, api_key=key, api_password=V1_PASSWORD)
    pm = plugins.make_plugin_manager([cinetpay_plugin], load_entry_points=False)
    provider = plugins.payment_providers(pm, core())["cinetpay"]
    assert isinstance(provider, CinetPayV1)
    assert provider.config.api_url == url
    assert provider.config.channel == "PUSH"
    assert V1_PASSWORD not in repr(provider.config) + repr(provider)
    assert key not in repr(provider.config)


def test_both_api_generations_at_once_stop_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api_key=V1_TEST_KEY, api_password=V1_PASSWORD, site_id="445160")
    with pytest.raises(ConfigurationError) as stopped:
        load_config(core())
    assert "CINETPAY_API_PASSWORD" in str(stopped.value)
    assert "CINETPAY_SITE_ID" in str(stopped.value)


@pytest.mark.parametrize(
    ("key", "url"),
    [(V1_TEST_KEY, "https://api.cinetpay.co/v1"), (V1_LIVE_KEY, "https://api.cinetpay.net")],
)
def test_a_key_against_the_other_environment_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, key: str, url: str
) -> None:
    configure(monkeypatch, api_key=key, api_password=V1_PASSWORD, api_url=url)
    with pytest.raises(ConfigurationError) as stopped:
        load_config(core())
    assert "CINETPAY_API_KEY" in str(stopped.value)
    assert "CINETPAY_API_URL" in str(stopped.value)
    assert key not in str(stopped.value)


def test_a_key_without_a_known_prefix_needs_an_url(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api_key="pk_other_0123456789", api_password=V1_PASSWORD)
    with pytest.raises(ConfigurationError, match="sk_test_ or sk_live_"):
        load_config(core())
    configure(monkeypatch, api_url="https://proxy.example.org/cinetpay")
    config = load_config(core())
    assert config is not None
    assert config.api_url == "https://proxy.example.org/cinetpay"


def test_a_password_without_a_key_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api_password=V1_PASSWORD)
    with pytest.raises(ConfigurationError, match="CINETPAY_API_KEY is not set"):
        load_config(core())


def test_a_key_alone_names_what_else_each_api_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api_key=V1_TEST_KEY)
    with pytest.raises(ConfigurationError) as stopped:
        load_config(core())
    assert "CINETPAY_API_PASSWORD" in str(stopped.value)
    assert "CINETPAY_SITE_ID" in str(stopped.value)


def test_a_base_url_too_long_for_the_current_api_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, api_key=V1_TEST_KEY, api_password=V1_PASSWORD)
    longest_allowed = "https://" + "s" * (120 - len(LONGEST_PATH) - len("https://"))
    assert load_config(core(base_url=longest_allowed)) is not None
    with pytest.raises(ConfigurationError, match="GD_BASE_URL is too long") as stopped:
        load_config(core(base_url=longest_allowed + "x"))
    assert "at most 120" in str(stopped.value)


def test_sandbox_mode_offers_the_current_api_by_default() -> None:
    sandbox = core(sandbox=True, base_url="http://127.0.0.1:8000")
    config = load_config(sandbox)
    assert isinstance(config, CinetPayV1Config)
    assert config.is_sandbox
    assert config.api_key.get_secret_value().startswith("sk_test_")
    other = load_config(core(sandbox=True, secret_key="z" * 40))
    assert isinstance(other, CinetPayV1Config)  # another GD_SECRET_KEY, other credentials
    assert config.api_password.get_secret_value() != other.api_password.get_secret_value()
    pm = plugins.make_plugin_manager([cinetpay_plugin], load_entry_points=False)
    providers = plugins.payment_providers(pm, sandbox)
    paths = {route.path for route in plugins.sandbox_routes(pm, sandbox, providers)}
    assert {"/sandbox/cinetpay/v1/oauth/login", "/sandbox/cinetpay/v1/payment"} <= paths
    assert "/sandbox/cinetpay/v2/payment" not in paths
