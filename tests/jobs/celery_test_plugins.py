"""Test plugins for Celery workers, which are other processes: named in GD_EXTRA_PLUGINS.

A Celery worker builds its own runtime, so the test's plugin objects cannot be handed to it;
it imports this module instead (``GD_EXTRA_PLUGINS=celery_test_plugins`` with this folder on
``PYTHONPATH``), and the test registers the same module in its own runtime.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import hookimpl
from gated_delivery.plugin_protocols import Generator, PaymentProvider
from gated_delivery.plugin_types import (
    AttemptView,
    GeneratedDocument,
    GenerationRequest,
    ProviderStatus,
    ReportedStatus,
)
from gated_delivery.sandbox.fake_provider import FakeProvider

#: Set by the tests: where the generator leaves its marks, and whether it stalls.
GENERATOR_DIR_VARIABLE = "GD_TEST_GENERATOR_DIR"
STALL_SECONDS = 120.0


@dataclass
class PaidProvider(FakeProvider):
    """The fake provider, but every attempt it is asked about is paid in full.

    The fake provider's ledger lives in the memory of the process that was told; the
    workers asking here are other processes, so the answer cannot depend on a ledger.
    """

    async def check_status(self, attempt: AttemptView) -> ProviderStatus:
        """Paid, for the amount asked."""
        return ProviderStatus(
            ReportedStatus.SUCCEEDED,
            amount=attempt.amount,
            provider_ref=f"paid-{attempt.attempt_id}",
        )


class StallOnceGenerator:
    """Writes a small document; with a ``stall`` file present, hangs on each order's first try.

    The hang is where a test kills the worker: the ``started-<order>`` mark tells it when.
    """

    name = "celery-test"

    async def generate(self, request: GenerationRequest) -> GeneratedDocument:
        """The document; or, the first time with ``stall`` set, a long sleep first."""
        folder = Path(os.environ[GENERATOR_DIR_VARIABLE])
        mark = folder / f"started-{request.order_id}"
        if (folder / "stall").exists() and not mark.exists():
            mark.touch()
            await asyncio.sleep(STALL_SECONDS)  # the test kills the worker meanwhile
        else:
            mark.touch()
        return GeneratedDocument(
            f"Document for {request.order_id}".encode(), "doc.txt", "text/plain"
        )


PROVIDER = PaidProvider(secret=b"celery-test-provider-secret", base_url="http://testserver")


@hookimpl
def payment_providers(settings: CoreSettings) -> Iterable[PaymentProvider]:
    """The always-paid fake provider, as ``fake``."""
    return [PROVIDER]


@hookimpl
def generators(settings: CoreSettings) -> Iterable[Generator]:
    """The test generator, as ``celery-test``."""
    return [StallOnceGenerator()]
