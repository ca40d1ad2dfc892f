"""The gated-delivery provider contract, against the Orange Money simulator over loopback.

The provider under test is the plugin's own, with the real httpx client and no transport
of ours: every call crosses a real socket to the simulator served by uvicorn on 127.0.0.1
(see ``conftest.py``). Two contract tests are skipped, each because Orange cannot do it:
CANCELLED (no such status) and a paid amount other than the one asked (the payment page
charges the session's amount, and the status answer carries none).
"""

from __future__ import annotations

import httpx
from gated_delivery_orange_money import OrangeMoney
from gated_delivery_orange_money.testing import OrangeMoneyControl

from gated_delivery.models import Order
from gated_delivery.runtime import Runtime
from gated_delivery.testing import ProviderContract


class TestOrangeMoneyContract(ProviderContract):
    """Every contract test, plus proof that it ran against the served simulator."""

    async def test_the_contract_speaks_to_the_simulator_over_loopback(
        self,
        gd_client: httpx.AsyncClient,
        gd_runtime: Runtime,
        gd_order: Order,
        gd_provider_control: OrangeMoneyControl,
        om_provider: OrangeMoney,
    ) -> None:
        assert gd_runtime.provider("orange-money") is om_provider
        assert om_provider.settings.api_url == gd_provider_control.served.base_url
        assert om_provider.settings.api_url.startswith("http://127.0.0.1:")
        before = await gd_provider_control.counters()
        await self._start(gd_client, gd_runtime, gd_order, "orange-money")
        after = await gd_provider_control.counters()
        # one token and one webpayment call reached the served simulator
        assert after["token_requests"] - before["token_requests"] == 1
        assert after["api_calls"] - before["api_calls"] == 1
