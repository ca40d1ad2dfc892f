"""The hooks gated-delivery calls: the provider, and the simulator in sandbox mode.

The module itself is the plugin registered through the ``gated_delivery`` entry point
``wave``; it reads the ``WAVE_*`` variables. A host app (or a test) that holds its own
settings registers a ``WavePlugin`` object instead, through ``create_app(plugins_extra=[...])``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from starlette.routing import BaseRoute

from gated_delivery.api import CoreSettings, PaymentProvider, hookimpl
from gated_delivery_wave.errors import PROVIDER_NAME
from gated_delivery_wave.provider import Wave
from gated_delivery_wave.settings import SANDBOX_PREFIX, read_settings, resolve
from gated_delivery_wave.simulator import WaveSimulator

#: The webhook address a shop registers in Wave's Business Portal, under ``GD_BASE_URL``.
NOTIFY_PATH: Final = f"/payments/{PROVIDER_NAME}/notify"


def simulator_for(provider: Wave, settings: CoreSettings) -> WaveSimulator:
    """A new simulator accepting ``provider``'s key and sending webhooks the way the shop
    registered them: to ``GD_BASE_URL`` + ``/payments/wave/notify``."""
    config = provider.settings
    return WaveSimulator(
        api_key=config.secret("api_key"),
        webhook_secret=config.secret("webhook_secret"),
        webhook_url=settings.base_url + NOTIFY_PATH,
        strategy=config.webhook_strategy,
        prefix=SANDBOX_PREFIX,
        signing_secret=config.secret("signing_secret") or None,
    )


def _sandbox_routes(
    settings: CoreSettings, providers: Mapping[str, PaymentProvider]
) -> list[BaseRoute]:
    provider = providers.get(PROVIDER_NAME)
    # never for a provider talking to the real API: the simulator would hold its real key
    if not isinstance(provider, Wave) or provider.settings.api_url != (
        settings.base_url + SANDBOX_PREFIX
    ):
        return []
    return simulator_for(provider, settings).routes()  # one per app: its own sessions


class WavePlugin:
    """A plugin object offering one ready-made ``Wave`` provider (host apps, tests)."""

    def __init__(self, provider: Wave) -> None:
        self.provider = provider
        self.__name__ = f"wave-{id(self):x}"

    @hookimpl
    def payment_providers(self, settings: CoreSettings) -> Iterable[PaymentProvider]:
        """Offer the provider given to the constructor."""
        return [self.provider]

    @hookimpl
    def sandbox_routes(
        self, settings: CoreSettings, providers: Mapping[str, PaymentProvider]
    ) -> Iterable[BaseRoute]:
        """The simulator, when this plugin's provider is the Wave one in use and points at it."""
        if providers.get(PROVIDER_NAME) is not self.provider:
            return []
        return _sandbox_routes(settings, providers)


@hookimpl
def payment_providers(settings: CoreSettings) -> Iterable[PaymentProvider]:
    """Offer Wave when a ``WAVE_*`` variable is set, or in sandbox mode.

    ``settings`` are the core settings: ``GD_SANDBOX`` and ``GD_BASE_URL`` place the
    simulator when no ``WAVE_*`` variable is set. A missing required variable raises
    ``ConfigurationError`` naming it.
    """
    resolved = resolve(settings, read_settings())
    return [] if resolved is None else [Wave(resolved)]


@hookimpl
def sandbox_routes(
    settings: CoreSettings, providers: Mapping[str, PaymentProvider]
) -> Iterable[BaseRoute]:
    """The Wave simulator under ``/sandbox/wave``, in sandbox mode.

    ``settings`` are the core settings; ``providers`` the providers in use, by name: the
    simulator takes the key of the ``wave`` one, when that one points at it.
    """
    return _sandbox_routes(settings, providers)
