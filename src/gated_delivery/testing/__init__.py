"""Test kit for plugin authors (public API): fakes, fixtures and the provider contract.

Installing gated-delivery registers the pytest plugin ``gated_delivery.testing.pytest_plugin``
(fixtures prefixed ``gd_``); install the ``testing`` extra for its dependencies.
"""

from gated_delivery.sandbox.fake_provider import FakeProvider
from gated_delivery.testing.clock import FrozenClock
from gated_delivery.testing.contract import FakeControl, ProviderContract, SimulatorControl
from gated_delivery.testing.flows import checkout, download_link, notify_fake, pay_with_fake
from gated_delivery.testing.loopback import serve
from gated_delivery.testing.orders import make_order
from gated_delivery.testing.plugin_objects import ProviderPlugin

__all__ = [
    "FakeControl",
    "FakeProvider",
    "FrozenClock",
    "ProviderContract",
    "ProviderPlugin",
    "SimulatorControl",
    "checkout",
    "download_link",
    "make_order",
    "notify_fake",
    "pay_with_fake",
    "serve",
]
