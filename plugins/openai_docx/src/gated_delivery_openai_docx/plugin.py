"""The hooks gated-delivery calls (the ``gated_delivery`` entry point ``openai_docx``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.routing import BaseRoute

from gated_delivery.api import CoreSettings, Generator, PaymentProvider, hookimpl
from gated_delivery_openai_docx.settings import SANDBOX_PATH, load_config, sandbox_api_key
from gated_delivery_openai_docx.simulator import OpenAISimulator

#: How much longer than the client's timeout the simulator's "timeout" answer waits.
_TIMEOUT_MARGIN_SECONDS = 5.0


@hookimpl
def generators(settings: CoreSettings) -> Iterable[Generator]:
    """Offer the ``openai_docx`` generator when enabled: ``OPENAI_API_KEY`` set, or sandbox mode.

    A missing or unusable setting stops start-up with a ``ConfigurationError`` naming it.
    """
    config = load_config(settings)
    if config is None:
        return []
    from gated_delivery_openai_docx.generator import OpenAIDocxGenerator  # only when enabled

    return [OpenAIDocxGenerator(config)]


@hookimpl
def sandbox_routes(
    settings: CoreSettings, providers: Mapping[str, PaymentProvider]
) -> Iterable[BaseRoute]:
    """Mount the OpenAI-compatible simulator at ``/sandbox/openai/v1``.

    One simulator per app, accepting the sandbox key derived from ``GD_SECRET_KEY``; it
    holds no secret of a real account, so it is mounted whatever the generator talks to.
    """
    config = load_config(settings)
    timeout = config.timeout_seconds if config is not None else 90.0
    simulator = OpenAISimulator(
        api_key=sandbox_api_key(settings).get_secret_value(),
        timeout_delay_seconds=timeout + _TIMEOUT_MARGIN_SECONDS,
    )
    return simulator.routes(SANDBOX_PATH)
