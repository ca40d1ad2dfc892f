"""The hooks gated-delivery calls: the provider, and the simulator in sandbox mode.

The module itself is the plugin registered through the ``gated_delivery`` entry point; it
reads the ``OM_*`` variables. A host app (or a test) that holds its own settings registers an
``OrangeMoneyPlugin`` object instead, through ``create_app(plugins_extra=[...])``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.routing import BaseRoute

from gated_delivery.api import CoreSettings, PaymentProvider, hookimpl
from gated_delivery_orange_money.errors import PROVIDER_NAME
from gated_delivery_orange_money.provider import OrangeMoney
from gated_delivery_orange_money.settings import SANDBOX_PREFIX, read_settings, resolve
from gated_delivery_orange_money.simulator import OrangeMoneySimulator


def simulator_for(provider: OrangeMoney) -> OrangeMoneySimulator:
    """A new simulator accepting ``provider``'s credentials, mounted at the sandbox prefix."""
    settings = provider.settings
    return OrangeMoneySimulator(
        client_id=settings.client_id or "",
        client_secret=settings.client_secret.get_secret_value() if settings.client_secret else "",
        merchant_key=settings.merchant_key.get_secret_value() if settings.merchant_key else "",
        country=settings.country or "",
        currency=settings.api_currency,
        prefix=SANDBOX_PREFIX,
    )


def _sandbox_routes(providers: Mapping[str, PaymentProvider]) -> list[BaseRoute]:
    provider = providers.get(PROVIDER_NAME)
    if not isinstance(provider, OrangeMoney):
        return []
    # one simulator per app: its sessions and tokens belong to this app only
    return simulator_for(provider).routes()


class OrangeMoneyPlugin:
    """A plugin object offering one ready-made ``OrangeMoney`` provider.

    For host apps and tests that build the provider themselves rather than from ``OM_*``.
    """

    def __init__(self, provider: OrangeMoney) -> None:
        self.provider = provider
        self.__name__ = f"orange-money-{id(self):x}"

    @hookimpl
    def payment_providers(self, settings: CoreSettings) -> Iterable[PaymentProvider]:
        """Offer the provider given to the constructor."""
        return [self.provider]

    @hookimpl
    def sandbox_routes(
        self, settings: CoreSettings, providers: Mapping[str, PaymentProvider]
    ) -> Iterable[BaseRoute]:
        """The simulator, when this plugin's provider is the Orange Money one in use."""
        if providers.get(PROVIDER_NAME) is not self.provider:
            return []
        return _sandbox_routes(providers)


@hookimpl
def payment_providers(settings: CoreSettings) -> Iterable[PaymentProvider]:
    """Offer Orange Money when an ``OM_*`` variable is set, or in sandbox mode.

    ``settings`` are the core settings: ``GD_SANDBOX`` and ``GD_BASE_URL`` place the
    simulator when no ``OM_*`` variable is set. A missing required variable raises
    ``ConfigurationError`` naming it.
    """
    resolved = resolve(settings, read_settings())
    return [] if resolved is None else [OrangeMoney(resolved)]


@hookimpl
def sandbox_routes(
    settings: CoreSettings, providers: Mapping[str, PaymentProvider]
) -> Iterable[BaseRoute]:
    """The Orange Money simulator under ``/sandbox/orange-money``, in sandbox mode.

    ``settings`` are the core settings; ``providers`` the providers in use, by name: the
    simulator accepts the credentials of the ``orange-money`` one.
    """
    return _sandbox_routes(providers)
