"""Everything a running gated-delivery needs, built once per app, worker or command."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

import pluggy

from gated_delivery import error_reports, plugins
from gated_delivery.clock import Clock, SystemClock
from gated_delivery.config import CoreSettings
from gated_delivery.db import Database
from gated_delivery.errors import NotFound
from gated_delivery.plugin_protocols import (
    Generator,
    MailTransport,
    PaymentProvider,
    StorageBackend,
)


@dataclass
class Runtime:
    """Settings, database, plugins and clock: what handlers, routes and commands share."""

    settings: CoreSettings
    db: Database
    pm: pluggy.PluginManager
    providers: dict[str, PaymentProvider]
    generators: dict[str, Generator]
    storage: StorageBackend
    mail: MailTransport
    clock: Clock
    jobs_ready: asyncio.Event = field(default_factory=asyncio.Event)

    def provider(self, name: str) -> PaymentProvider:
        """The provider called ``name``; ``NotFound`` if no installed plugin offers it."""
        try:
            return self.providers[name]
        except KeyError:
            raise NotFound(f"no payment provider named {name!r} is installed") from None

    def wake_worker(self) -> None:
        """Tell an embedded worker that jobs were just committed."""
        self.jobs_ready.set()

    async def close(self) -> None:
        """Release the database connections."""
        await self.db.dispose()


def build_runtime(
    settings: CoreSettings,
    *,
    plugins_extra: Iterable[object] = (),
    clock: Clock | None = None,
    db: Database | None = None,
    load_entry_points: bool = True,
) -> Runtime:
    """Load plugins and connect (lazily) to the database named in the settings.

    Error reporting starts here when ``GD_SENTRY_DSN`` is set, so that the web app, the
    worker, the Celery tasks and the commands all report alike.
    """
    error_reports.start(settings)
    pm = plugins.make_plugin_manager(
        plugins_extra, load_entry_points=load_entry_points, disabled=settings.disabled_plugins
    )
    database = db or Database.from_url(settings.database_url)
    # resolved once here, so that no writer of a job has to pass its tries along
    database.job_max_attempts = settings.job_max_attempts
    return Runtime(
        settings=settings,
        db=database,
        pm=pm,
        providers=plugins.payment_providers(pm, settings),
        generators=plugins.generators(pm, settings),
        storage=plugins.storage_backend(pm, settings),
        mail=plugins.mail_transport(pm, settings),
        clock=clock or SystemClock(),
    )
