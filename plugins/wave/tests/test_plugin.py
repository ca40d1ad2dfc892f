"""The hooks: when the plugin is enabled, how its settings are checked, what sandbox mounts.

That the plugin imports nothing of the core but ``gated_delivery.api`` is checked for every
plugin at once, in the core's tests/test_public_api.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from gated_delivery_wave import Wave
from gated_delivery_wave import plugin as wave_plugin
from gated_delivery_wave.settings import SANDBOX_API_KEY, VARIABLES

from gated_delivery import plugins
from gated_delivery.config import CoreSettings
from gated_delivery.errors import ConfigurationError

from .conftest import API_KEY, WEBHOOK_SECRET


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
    pm = plugins.make_plugin_manager([wave_plugin], load_entry_points=False)
    return dict(plugins.payment_providers(pm, settings))


def test_installed_but_unconfigured_offers_nothing() -> None:
    assert "wave" not in offered(core())


def test_sandbox_mode_points_at_the_simulator() -> None:
    provider = offered(core(sandbox=True))["wave"]
    assert isinstance(provider, Wave)
    assert provider.settings.api_url == "http://127.0.0.1:8123/sandbox/wave"
    assert provider.settings.secret("api_key") == SANDBOX_API_KEY


def test_one_variable_set_requires_the_others_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    with pytest.raises(ConfigurationError) as info:
        offered(core(sandbox=True))  # configured values win over the sandbox defaults
    assert str(info.value).startswith("WAVE_API_KEY is not set")
    assert WEBHOOK_SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("WAVE_API_KEY", "short", "WAVE_API_KEY: Value error, must be at least 16"),
        ("WAVE_API_URL", "api.wave.com", "WAVE_API_URL: Value error, must start with https://"),
        ("WAVE_AGGREGATED_MERCHANT_ID", "123", "WAVE_AGGREGATED_MERCHANT_ID: Value error"),
        ("WAVE_WEBHOOK_STRATEGY", "none", "WAVE_WEBHOOK_STRATEGY:"),
        ("WAVE_WEBHOOK_TOLERANCE_SECONDS", "5", "WAVE_WEBHOOK_TOLERANCE_SECONDS: Value error"),
    ],
)
def test_a_bad_value_names_its_variable_not_its_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=says) as info:
        offered(core())
    assert value not in str(info.value).replace(name, "")


def test_fully_configured_production_wallet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVE_API_KEY", API_KEY)
    monkeypatch.setenv("WAVE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("WAVE_AGGREGATED_MERCHANT_ID", "am-7lks22ap113t4")
    provider = offered(core())["wave"]
    assert isinstance(provider, Wave)
    settings = provider.settings
    assert settings.api_url == "https://api.wave.com"
    assert (settings.webhook_strategy, settings.webhook_tolerance_seconds) == ("signing", 300)
    assert API_KEY not in repr(provider) + repr(settings)
    assert WEBHOOK_SECRET not in repr(settings)


def test_the_simulator_is_mounted_only_in_sandbox_mode() -> None:
    from gated_delivery.runtime import build_runtime
    from gated_delivery.web.app import create_app

    for sandbox in (False, True):
        rt = build_runtime(
            core(sandbox=sandbox), plugins_extra=[wave_plugin], load_entry_points=False
        )
        app = create_app(runtime=rt, run_worker=False)
        paths = {getattr(r, "path", "") for r in app.routes}
        assert ("/sandbox/wave/v1/checkout/sessions" in paths) is sandbox


def test_the_simulator_is_never_mounted_for_the_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    from gated_delivery.runtime import build_runtime
    from gated_delivery.web.app import create_app

    monkeypatch.setenv("WAVE_API_KEY", API_KEY)
    monkeypatch.setenv("WAVE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    rt = build_runtime(core(sandbox=True), plugins_extra=[wave_plugin], load_entry_points=False)
    app = create_app(runtime=rt, run_worker=False)
    assert not any("/sandbox/wave" in getattr(r, "path", "") for r in app.routes)
