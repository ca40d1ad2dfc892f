"""The plugin manager, and the one typed door through which the core calls hooks.

Only this module calls ``pm.hook``. The manager is built per app (``create_app``) or per
command, never at import time, so import order never changes behaviour.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any, Final

import pluggy

from gated_delivery import hookspecs
from gated_delivery.config import CoreSettings
from gated_delivery.errors import ConfigurationError, PluginError
from gated_delivery.money import Money
from gated_delivery.plugin_protocols import (
    Generator,
    MailTransport,
    PaymentProvider,
    StaffAuthenticator,
    StorageBackend,
)
from gated_delivery.plugin_types import FormSchema

ENTRY_POINT_GROUP: Final = "gated_delivery"

#: Our defaults, registered first and like any plugin (so installed plugins are called first).
DEFAULT_PLUGINS: Final = (
    "gated_delivery.default_plugins.local_storage",
    "gated_delivery.default_plugins.folder_mail",
    "gated_delivery.default_plugins.smtp_mail",  # after the folder: asked before it
    "gated_delivery.sandbox.fake_provider",
    "gated_delivery.sandbox.pages",
)


def make_plugin_manager(
    extra: Iterable[object] = (),
    *,
    load_entry_points: bool = True,
    disabled: Iterable[str] = (),
) -> pluggy.PluginManager:
    """A plugin manager with our defaults, the installed plugins, then ``extra``.

    ``extra`` are plugin objects (modules or instances) a host app or a test registers
    directly; registered last, they are called first. ``disabled`` names defaults (by module
    name) or installed plugins (by entry-point name) to leave out (``GD_DISABLED_PLUGINS``).
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    installed = list(entry_points(group=ENTRY_POINT_GROUP)) if load_entry_points else []
    _block(pm, set(disabled), {*DEFAULT_PLUGINS, *(ep.name for ep in installed)})
    for name in DEFAULT_PLUGINS:
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(name), name=name)
    if load_entry_points:
        for ep in installed:
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} (entry point {ep.value!r}, distribution "
                    f"{ep.dist.name if ep.dist else '?'}) failed to load: "
                    f"{type(exc).__name__}: {exc}; reinstall or uninstall it"
                ) from exc
            _register(pm, plugin, ep.name)
    for index, plugin in enumerate(extra):
        _register(pm, plugin, getattr(plugin, "__name__", None) or f"extra-{index}")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"plugin {exc.plugin!r} has a hook gated-delivery does not know: {exc}"
        ) from None
    return pm


def _block(pm: pluggy.PluginManager, names: set[str], known: set[str]) -> None:
    unknown = names - known
    if unknown:
        # a misspelt name would silently leave a plugin (a fake provider, say) switched on
        raise PluginError(
            f"GD_DISABLED_PLUGINS names {', '.join(sorted(unknown))}, which is not a plugin "
            f"here; known plugins: {', '.join(sorted(known))}"
        )
    for name in names:
        pm.set_blocked(name)


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(f"plugin {name!r} could not be registered: {exc}") from exc


def _call(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> list[Any]:
    caller = getattr(pm.hook, hook)
    try:
        results: list[Any] = caller(**kwargs)
    except (ConfigurationError, PluginError):
        raise
    except Exception as exc:
        raise PluginError(f"a plugin's {hook} hook failed: {type(exc).__name__}: {exc}") from exc
    return results


def _by_name(kind: str, batches: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for batch in batches:
        for item in batch or ():
            if found.setdefault(item.name, item) is not item:
                raise PluginError(f"two plugins offer the {kind} {item.name!r}; uninstall one")
    return found


def payment_providers(
    pm: pluggy.PluginManager, settings: CoreSettings
) -> dict[str, PaymentProvider]:
    """Every payment provider offered, by name; a name offered twice is an error."""
    providers = _by_name("payment provider", _call(pm, "payment_providers", settings=settings))
    for name, provider in providers.items():
        if not isinstance(provider, PaymentProvider):
            raise PluginError(
                f"payment provider {name!r} does not follow the PaymentProvider protocol"
            )
    return providers


def generators(pm: pluggy.PluginManager, settings: CoreSettings) -> dict[str, Generator]:
    """Every generator offered, by name."""
    return _by_name("generator", _call(pm, "generators", settings=settings))


def storage_backend(pm: pluggy.PluginManager, settings: CoreSettings) -> StorageBackend:
    """The storage backend named by ``GD_STORAGE``."""
    backends = _by_name("storage backend", _call(pm, "storage_backends", settings=settings))
    try:
        return backends[settings.storage]  # type: ignore[no-any-return]
    except KeyError:
        known = ", ".join(sorted(backends)) or "none"
        raise ConfigurationError(
            f"GD_STORAGE: no storage backend named {settings.storage!r}; installed: {known}"
        ) from None


def mail_transport(pm: pluggy.PluginManager, settings: CoreSettings) -> MailTransport:
    """The mail transport the first willing plugin returns."""
    transport = pm.hook.mail_transport(settings=settings)
    if transport is None:  # the default plugin always answers; only a blocked one gets here
        raise PluginError("no plugin offers a mail transport")
    return transport  # type: ignore[no-any-return]


def staff_authenticator(
    pm: pluggy.PluginManager, settings: CoreSettings
) -> StaffAuthenticator | None:
    """A host app's staff authentication, or None for the built-in login."""
    return pm.hook.staff_authenticator(settings=settings)  # type: ignore[no-any-return]


def form_schema(pm: pluggy.PluginManager, product_slug: str, lang: str) -> FormSchema | None:
    """The labels of a product's order form the first willing plugin gives, or None."""
    return pm.hook.form_schema(product_slug=product_slug, lang=lang)  # type: ignore[no-any-return]


def sandbox_routes(
    pm: pluggy.PluginManager, settings: CoreSettings, providers: Mapping[str, PaymentProvider]
) -> list[Any]:
    """Every route plugins offer for ``/sandbox``."""
    return [
        r
        for batch in _call(pm, "sandbox_routes", settings=settings, providers=providers)
        for r in batch or ()
    ]


#: The event hooks and the arguments each takes, for the ``event`` job.
EVENTS: Final = {
    "payment_confirmed": ("order_id", "attempt_id", "amount"),
    "fulfilment_published": ("order_id", "asset_id"),
    "download_token_consumed": ("order_id", "token_id", "use_count"),
}


async def emit(pm: pluggy.PluginManager, event: str, payload: Mapping[str, Any]) -> None:
    """Call an event hook with ``payload``; await the implementations that are coroutines."""
    if event not in EVENTS:
        raise PluginError(f"unknown event {event!r}; known: {', '.join(EVENTS)}")
    kwargs = {name: payload[name] for name in EVENTS[event]}
    if "amount" in kwargs and isinstance(kwargs["amount"], Mapping):
        kwargs["amount"] = Money(kwargs["amount"]["amount_minor"], kwargs["amount"]["currency"])
    for result in getattr(pm.hook, event)(**kwargs):
        if inspect.isawaitable(result):
            await result
