"""The hooks gated-delivery calls (the ``gated_delivery`` entry point ``cinetpay``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.routing import BaseRoute

from gated_delivery.api import CoreSettings, PaymentProvider, hookimpl
from gated_delivery_cinetpay.provider import CinetPay
from gated_delivery_cinetpay.settings import (
    SANDBOX_PATH,
    CinetPayConfig,
    load_config,
    sandbox_api_url,
)
from gated_delivery_cinetpay.simulator import CinetPaySimulator
from gated_delivery_cinetpay.v1.provider import CinetPayV1
from gated_delivery_cinetpay.v1.simulator import CinetPayV1Simulator


@hookimpl
def payment_providers(settings: CoreSettings) -> Iterable[PaymentProvider]:
    """Offer CinetPay when enabled: any ``CINETPAY_*`` credential set, or sandbox mode.

    ``CINETPAY_API_PASSWORD`` chooses the current API, ``CINETPAY_SITE_ID`` and
    ``CINETPAY_SECRET_KEY`` the legacy one; a missing or contradicting variable stops
    start-up with a ``ConfigurationError`` naming it.
    """
    config = load_config(settings)
    if config is None:
        return []
    if isinstance(config, CinetPayConfig):
        return [CinetPay(config)]
    return [CinetPayV1(config)]


@hookimpl
def sandbox_routes(
    settings: CoreSettings, providers: Mapping[str, PaymentProvider]
) -> Iterable[BaseRoute]:
    """Mount the simulator of the API in use at ``/sandbox/cinetpay``, if the provider uses it.

    The simulator takes the provider's credentials. It is never mounted for a provider that
    talks to the real API: it would answer with the merchant's real keys.
    """
    provider = providers.get("cinetpay")
    if isinstance(provider, CinetPayV1) and provider.config.api_url == sandbox_api_url(settings):
        # one per app: its state lives as long as the app
        return CinetPayV1Simulator(
            api_key=provider.config.api_key.get_secret_value(),
            api_password=provider.config.api_password.get_secret_value(),
        ).routes(SANDBOX_PATH)
    if isinstance(provider, CinetPay) and provider.config.api_url == sandbox_api_url(settings):
        return CinetPaySimulator(
            api_key=provider.config.api_key.get_secret_value(),
            site_id=provider.config.site_id,
            secret_key=provider.config.secret_key.get_secret_value(),
        ).routes(SANDBOX_PATH)
    return []
