"""Settings (config.py): checked at start-up, errors name the variable, secrets stay secret."""

from __future__ import annotations

import pytest

from gated_delivery.config import SANDBOX_SECRET_KEY, load_settings
from gated_delivery.errors import ConfigurationError

GOOD_KEY = "k" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    # settings come from the environment and .env: start every test from neither
    for name in (
        "GD_SECRET_KEY",
        "GD_SANDBOX",
        "GD_DATABASE_URL",
        "GD_BASE_URL",
        "GD_DOWNLOAD_TTL_MINUTES",
        "GD_ADMIN_EMAILS",
        "GD_SMTP_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(str(tmp_path))


def test_defaults_from_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GD_SECRET_KEY", GOOD_KEY)
    settings = load_settings()
    assert settings.database_url.startswith("sqlite+aiosqlite://")
    assert (settings.download_ttl_minutes, settings.download_max_uses) == (45, 1)
    assert settings.sandbox is False


def test_missing_secret_key_stops_start_up_outside_sandbox() -> None:
    with pytest.raises(ConfigurationError, match="GD_SECRET_KEY is not set"):
        load_settings()


@pytest.mark.parametrize("key", ["", "changeme", SANDBOX_SECRET_KEY, "short-key"])
def test_weak_secret_keys_are_refused(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("GD_SECRET_KEY", key)
    with pytest.raises(ConfigurationError, match="GD_SECRET_KEY") as info:
        load_settings()
    if key:
        assert key not in str(info.value)  # the message never repeats the secret


def test_sandbox_uses_a_fixed_demo_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GD_SANDBOX", "1")
    settings = load_settings()
    assert settings.secret == SANDBOX_SECRET_KEY


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GD_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("GD_DOWNLOAD_TTL_MINUTES", "soon")
    monkeypatch.setenv("GD_DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    message = str(info.value)
    assert "GD_DOWNLOAD_TTL_MINUTES" in message
    assert "GD_DATABASE_URL" in message
    assert "mysql" not in message  # values are not echoed: they may be secrets


def test_secrets_do_not_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GD_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("GD_SMTP_PASSWORD", "hunter2-smtp")
    settings = load_settings()
    assert GOOD_KEY not in repr(settings)
    assert "hunter2-smtp" not in repr(settings)


def test_admin_emails_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GD_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("GD_ADMIN_EMAILS", "a@example.org, b@example.org")
    assert load_settings().admin_emails == ["a@example.org", "b@example.org"]


def test_base_url_loses_its_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GD_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("GD_BASE_URL", "https://shop.example.org/")
    assert load_settings().base_url == "https://shop.example.org"


def test_the_order_page_is_a_path_naming_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(sandbox=True, base_url="https://shop.example/kit/")
    assert settings.order_page_url("Abc") == "https://shop.example/kit/orders/Abc/status"
    monkeypatch.setenv("GD_ORDER_PAGE", "/commande/{order_id}")
    settings = load_settings(sandbox=True, base_url="https://shop.example/kit")
    assert settings.order_page_url("Abc") == "https://shop.example/kit/commande/Abc"
    for bad in (
        "commande/{order_id}",
        "/commande",
        "/c/{order_id}/{order_id}",
        "/c/{x}/{order_id}",
    ):
        monkeypatch.setenv("GD_ORDER_PAGE", bad)
        with pytest.raises(ConfigurationError, match="GD_ORDER_PAGE"):
            load_settings(sandbox=True)
