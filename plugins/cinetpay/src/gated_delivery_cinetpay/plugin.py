"""The hooks gated-delivery calls (the ``gated_delivery`` entry point ``cinetpay``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.routing import BaseRoute

from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import PaymentProvider, hookimpl
from gated_delivery_cinetpay.provider import CinetPay
from gated_delivery_cinetpay.settings import SANDBOX_PATH, load_config, sandbox_api_url
from gated_delivery_cinetpay.simulator import CinetPaySimulator


@hookimpl
def payment_providers(settings: CoreSettings) -> Iterable[PaymentProvider]:
    """Offer CinetPay when enabled: any ``CINETPAY_*`` variable set, or sandbox mode.

    A missing credential stops start-up with a ``ConfigurationError`` naming it.
    """
    config = load_config(settings)
    return [] if config is None else [CinetPay(config)]


@hookimpl
def sandbox_routes(
    settings: CoreSettings, providers: Mapping[str, PaymentProvider]
) -> Iterable[BaseRoute]:
    """Mount the CinetPay simulator at ``/sandbox/cinetpay`` when the provider points there.

    The simulator takes the provider's credentials. It is never mounted for a provider that
    talks to the real API: it would sign notifications with the merchant's real secret key.
    """
    provider = providers.get("cinetpay")
    if not isinstance(provider, CinetPay):
        return []
    config = provider.config
    if config.api_url != sandbox_api_url(settings):
        return []
    simulator = CinetPaySimulator(  # one per app: its state lives as long as the app
        api_key=config.api_key.get_secret_value(),
        site_id=config.site_id,
        secret_key=config.secret_key.get_secret_value(),
    )
    return simulator.routes(SANDBOX_PATH)
