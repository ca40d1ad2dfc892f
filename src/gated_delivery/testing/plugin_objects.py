"""Throwaway plugin objects for registering test doubles through the real hooks."""

from __future__ import annotations

from collections.abc import Iterable

from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import hookimpl
from gated_delivery.plugin_protocols import PaymentProvider


class ProviderPlugin:
    """A plugin that offers the given provider objects, whatever the settings."""

    def __init__(self, *providers: PaymentProvider) -> None:
        self.providers = providers
        self.__name__ = "test-providers-" + "-".join(p.name for p in providers)

    @hookimpl
    def payment_providers(self, settings: CoreSettings) -> Iterable[PaymentProvider]:
        """Offer the providers given to the constructor."""
        return list(self.providers)
