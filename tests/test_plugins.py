"""The plugin manager (plugins.py): defaults, entry points, conflicts, broken plugins."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import pytest

from gated_delivery import plugins
from gated_delivery.config import CoreSettings, load_settings
from gated_delivery.default_plugins.folder_mail import FolderMail
from gated_delivery.default_plugins.local_storage import LocalStorage
from gated_delivery.errors import ConfigurationError, PluginError
from gated_delivery.hookspecs import hookimpl
from gated_delivery.money import Money
from gated_delivery.sandbox.fake_provider import FakeProvider
from gated_delivery.testing import ProviderPlugin


@pytest.fixture
def settings(tmp_path: Path) -> CoreSettings:
    return CoreSettings(secret_key="s" * 40, private_media_root=tmp_path, mail_dir=tmp_path)


def test_defaults_are_registered_like_any_plugin(settings: CoreSettings) -> None:
    pm = plugins.make_plugin_manager(load_entry_points=False)
    for name in plugins.DEFAULT_PLUGINS:
        assert pm.get_plugin(name) is not None
    assert isinstance(plugins.storage_backend(pm, settings), LocalStorage)
    assert isinstance(plugins.mail_transport(pm, settings), FolderMail)
    assert plugins.payment_providers(pm, settings) == {}  # the fake one is sandbox-only


def test_sandbox_mode_offers_the_fake_provider(settings: CoreSettings) -> None:
    pm = plugins.make_plugin_manager(load_entry_points=False)
    sandbox = settings.model_copy(update={"sandbox": True})
    assert list(plugins.payment_providers(pm, sandbox)) == ["fake"]


def test_two_plugins_offering_one_name_stop_start_up(settings: CoreSettings) -> None:
    one, two = FakeProvider(secret=b"1"), FakeProvider(secret=b"2")
    pm = plugins.make_plugin_manager(
        [ProviderPlugin(one), _Named(ProviderPlugin(two))], load_entry_points=False
    )
    with pytest.raises(PluginError, match="two plugins offer the payment provider 'fake'"):
        plugins.payment_providers(pm, settings)


class _Named:
    """Wrap a plugin object so it registers under another name."""

    def __init__(self, inner: ProviderPlugin) -> None:
        self.inner = inner
        self.__name__ = "second"

    @hookimpl
    def payment_providers(self, settings: CoreSettings) -> Iterable[object]:
        return self.inner.payment_providers(settings)


class _Misspelt:
    __name__ = "misspelt"

    @hookimpl
    def payment_provider(self, settings: CoreSettings) -> list[object]:  # missing "s"
        return []


def test_a_misspelt_hook_fails_at_start_up() -> None:
    with pytest.raises(PluginError, match="payment_provider"):
        plugins.make_plugin_manager([_Misspelt()], load_entry_points=False)


class _HalfConfigured:
    __name__ = "half"

    @hookimpl
    def payment_providers(self, settings: CoreSettings) -> list[object]:
        raise ConfigurationError("ACME_SECRET is not set (ACME_API_KEY is)")


def test_a_plugin_configuration_error_reaches_the_user(settings: CoreSettings) -> None:
    pm = plugins.make_plugin_manager([_HalfConfigured()], load_entry_points=False)
    with pytest.raises(ConfigurationError, match="ACME_SECRET is not set"):
        plugins.payment_providers(pm, settings)


class _NotAProvider:
    __name__ = "not-a-provider"
    name = "acme"

    @hookimpl
    def payment_providers(self, settings: CoreSettings) -> list[object]:
        return [self]


def test_an_object_that_is_not_a_provider_is_refused(settings: CoreSettings) -> None:
    pm = plugins.make_plugin_manager([_NotAProvider()], load_entry_points=False)
    with pytest.raises(PluginError, match="'acme' does not follow the PaymentProvider protocol"):
        plugins.payment_providers(pm, settings)


def test_unknown_storage_backend_names_the_variable(settings: CoreSettings) -> None:
    pm = plugins.make_plugin_manager(load_entry_points=False)
    with pytest.raises(ConfigurationError, match="GD_STORAGE: no storage backend named 's3'"):
        plugins.storage_backend(pm, settings.model_copy(update={"storage": "s3"}))


def _install_fake_distribution(root: Path, module_source: str) -> None:
    """A real distribution on sys.path with an entry point in our group."""
    (root / "broken_gd_plugin.py").write_text(module_source)
    info = root / "broken_gd_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-gd-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[gated_delivery]\nbroken = broken_gd_plugin\n")


def test_a_broken_installed_plugin_is_named_with_its_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_distribution(tmp_path, "raise ImportError('needs libfoo')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as info:
        plugins.make_plugin_manager()
    message = str(info.value)
    assert "'broken'" in message
    assert "broken_gd_plugin" in message
    assert "broken-gd-plugin" in message
    assert "needs libfoo" in message


def test_an_installed_plugin_is_loaded_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: CoreSettings
) -> None:
    _install_fake_distribution(
        tmp_path,
        "from gated_delivery.hookspecs import hookimpl\n"
        "from gated_delivery.sandbox.fake_provider import FakeProvider\n"
        "@hookimpl\n"
        "def payment_providers(settings):\n"
        "    return [FakeProvider(secret=b'x', name='acme')]\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = plugins.make_plugin_manager()
    assert list(plugins.payment_providers(pm, settings)) == ["acme"]


def test_a_disabled_default_plugin_is_not_registered(settings: CoreSettings) -> None:
    sandbox = settings.model_copy(update={"sandbox": True})
    pm = plugins.make_plugin_manager(load_entry_points=False)
    assert "fake" in plugins.payment_providers(pm, sandbox)
    pm = plugins.make_plugin_manager(
        load_entry_points=False, disabled=["gated_delivery.sandbox.fake_provider"]
    )
    assert "fake" not in plugins.payment_providers(pm, sandbox)
    assert pm.get_plugin("gated_delivery.sandbox.pages") is not None


def test_a_disabled_installed_plugin_is_not_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: CoreSettings
) -> None:
    # the module would fail to import: disabling it must not even load it
    _install_fake_distribution(tmp_path, "raise ImportError('needs libfoo')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = plugins.make_plugin_manager(disabled=["broken"])
    assert pm.is_blocked("broken")


def test_a_misspelt_disabled_plugin_stops_start_up() -> None:
    with pytest.raises(PluginError, match="GD_DISABLED_PLUGINS names fake_provider,") as info:
        plugins.make_plugin_manager(load_entry_points=False, disabled=["fake_provider"])
    assert "gated_delivery.sandbox.fake_provider" in str(info.value)


def test_disabled_plugins_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GD_DISABLED_PLUGINS", " gated_delivery.sandbox.pages, cinetpay ,")
    assert load_settings(sandbox=True).disabled_plugins == [
        "gated_delivery.sandbox.pages",
        "cinetpay",
    ]


class _Listener:
    __name__ = "listener"

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    @hookimpl
    def payment_confirmed(self, order_id: str, amount: Money) -> None:
        self.seen.append((order_id, amount))

    @hookimpl
    async def fulfilment_published(self, order_id: str, asset_id: str) -> None:
        self.seen.append((order_id, asset_id))


async def test_event_hooks_may_be_sync_or_async() -> None:
    listener = _Listener()
    pm = plugins.make_plugin_manager([listener], load_entry_points=False)
    await plugins.emit(
        pm,
        "payment_confirmed",
        {"order_id": "o1", "attempt_id": "a1", "amount": {"amount_minor": 5000, "currency": "XOF"}},
    )
    await plugins.emit(pm, "fulfilment_published", {"order_id": "o1", "asset_id": "f1"})
    assert listener.seen == [("o1", Money(5000, "XOF")), ("o1", "f1")]
    with pytest.raises(PluginError, match="unknown event"):
        await plugins.emit(pm, "nope", {})


def test_fake_provider_keeps_its_session_lifetime() -> None:
    assert FakeProvider(secret=b"x").session_lifetime == timedelta(minutes=30)
