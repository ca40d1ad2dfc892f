"""Outbox jobs on Celery workers (``GD_JOB_BACKEND=celery``, extra ``gated-delivery[celery]``).

The outbox stays the source of truth. A relay (``jobs/relay.py``) publishes the id of each due
row; the ``gated_delivery.run_job`` task claims that row, runs its handler through
``outbox.execute`` and lets it record the outcome, exactly as the embedded worker does. So
retries keep the embedded worker's backoff (stored on the row, where a broker restart cannot
lose it) and a job out of tries is DEAD with its reason, where staff already look.

Run the workers with::

    celery -A gated_delivery.jobs.celery_backend worker --loglevel INFO
    celery -A gated_delivery.jobs.celery_backend beat    # the reconciler and heartbeats

Celery's ``-A`` wants an importable app, but an app built at import would freeze whatever
environment the importer had. ``make_celery`` builds one from settings; the module attribute
``app`` is built from the environment on first access only (PEP 562 ``__getattr__``), so
importing this module has no side effect and tests can build as many apps as they need.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final

from gated_delivery import reminders
from gated_delivery.config import CoreSettings, load_settings
from gated_delivery.errors import ConfigurationError
from gated_delivery.heartbeats import BEAT_EVERY, Beater, Kind
from gated_delivery.ids import new_public_id
from gated_delivery.jobs.outbox import claim_job, execute
from gated_delivery.logcontext import configure_logging_from
from gated_delivery.reconcile import reconcile
from gated_delivery.runtime import Runtime, build_runtime

try:
    from celery import Celery
except ImportError:  # pragma: no cover - the extra is optional
    Celery = None

RUN_JOB: Final = "gated_delivery.run_job"
RECONCILE: Final = "gated_delivery.reconcile"
HEARTBEAT: Final = "gated_delivery.heartbeat"
QUEUE: Final = "gated_delivery"


def make_celery(settings: CoreSettings) -> Any:
    """A Celery app on ``GD_CELERY_BROKER_URL`` with the job and reconcile tasks."""
    if Celery is None:
        raise ConfigurationError(
            "GD_JOB_BACKEND=celery needs Celery: pip install 'gated-delivery[celery]'"
        )
    if not settings.celery_broker_url:
        raise ConfigurationError("GD_CELERY_BROKER_URL is not set; e.g. redis://127.0.0.1:6379/0")
    app = Celery("gated_delivery", broker=settings.celery_broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        # the outbox row records every outcome; a result backend would only duplicate it
        task_ignore_result=True,
        # a message is acknowledged after its job ran, so a worker killed mid-job leaves it
        # to be delivered again; claiming the row first keeps the effect to one run
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # one message at a time per process: a prefetched job would wait behind a slow one
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # while the broker is down, keep trying every second or two rather than backing off
        # to minutes: the relay re-publishes what was lost, workers just need to be there
        broker_connection_max_retries=None,
        broker_transport_options={"interval_start": 0, "interval_step": 1, "interval_max": 2},
        beat_schedule=beat_schedule(settings),
        timezone="UTC",
    )
    _use_our_logging(settings)
    runner = _JobRunner(settings)
    app.task(name=RUN_JOB, ignore_result=True)(runner.run_job)
    app.task(name=RECONCILE, ignore_result=True)(runner.reconcile)
    app.task(name=HEARTBEAT, ignore_result=True)(runner.heartbeat)
    return app


def _use_our_logging(settings: CoreSettings) -> None:
    """Workers and beat log like the other processes (GD_LOG_FORMAT, GD_LOG_LEVEL).

    A receiver of ``setup_logging`` stops Celery from configuring logging itself; the
    ``dispatch_uid`` keeps it to one receiver however many apps are made.
    """
    from celery.signals import setup_logging

    def configure(**_: Any) -> None:
        configure_logging_from(settings)

    setup_logging.connect(configure, weak=False, dispatch_uid="gated_delivery_logging")


def beat_schedule(settings: CoreSettings) -> dict[str, dict[str, Any]]:
    """Celery beat's schedule: the reconciler every ``GD_RECONCILE_EVERY_MINUTES`` (0: off).

    And a heartbeat every ``heartbeats.BEAT_EVERY``: an idle worker runs no job, yet
    ``gated-delivery check`` must see that one is there.
    """
    beat = BEAT_EVERY.total_seconds()
    schedule: dict[str, dict[str, Any]] = {
        "gated-delivery-heartbeat": {
            "task": HEARTBEAT,
            "schedule": beat,
            "options": {"expires": beat},
        }
    }
    every = settings.reconcile_every_minutes
    if not every:
        return schedule
    return schedule | {
        "gated-delivery-reconcile": {
            "task": RECONCILE,
            "schedule": float(every * 60),
            # a reconciliation not started before the next one is due is not worth running
            "options": {"expires": float(every * 60)},
        }
    }


def plugin_objects(paths: Iterable[str]) -> list[object]:
    """Import each ``module`` or ``module:attribute`` of ``GD_EXTRA_PLUGINS``."""
    found: list[object] = []
    for path in paths:
        module_name, _, attribute = path.partition(":")
        try:
            obj: object = importlib.import_module(module_name)
            for part in filter(None, attribute.split(".")):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(
                f"GD_EXTRA_PLUGINS: cannot import {path!r} ({type(exc).__name__}: {exc})"
            ) from None
        found.append(obj)
    return found


class _JobRunner:
    """The tasks' bodies, with one runtime and event loop per worker process.

    Both are made on the first task, in the process that runs it: prefork children must not
    share the parent's database connections, and the engine's pool belongs to one loop.
    """

    def __init__(self, settings: CoreSettings) -> None:
        self.settings = settings
        self._pid = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rt: Runtime | None = None
        self._beater: Beater | None = None
        self.worker_id = ""

    def run_job(self, job_id: int) -> str:
        """Claim outbox row ``job_id`` and run it; the row's new state, or ``skipped``."""
        return self._loop_here().run_until_complete(self._run_job(job_id))

    def reconcile(self) -> str:
        """One reconciliation run; its summary line."""
        return self._loop_here().run_until_complete(self._reconcile())

    def heartbeat(self) -> str:
        """Write this worker's heartbeat row (unless it did lately); ``beat`` or ``recent``."""
        return self._loop_here().run_until_complete(self._beat())

    def _loop_here(self) -> asyncio.AbstractEventLoop:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._loop = asyncio.new_event_loop()
            self._rt = None
            self._beater = None
            self.worker_id = f"celery:{socket.gethostname()}:{self._pid}:{new_public_id()[:6]}"
        assert self._loop is not None
        return self._loop

    def _runtime(self) -> Runtime:
        if self._rt is None:
            extra = plugin_objects(self.settings.extra_plugins)
            self._rt = build_runtime(self.settings, plugins_extra=extra)
        return self._rt

    async def _beat(self) -> str:
        if self._beater is None:
            self._beater = Beater(self._runtime(), Kind.CELERY, self.worker_id)
        return "beat" if await self._beater.beat() else "recent"

    async def _run_job(self, job_id: int) -> str:
        rt = self._runtime()
        await self._beat()  # at most once a minute: a busy worker is seen between beat's ticks
        lease = timedelta(seconds=self.settings.celery_lease_seconds)
        job = await claim_job(rt, int(job_id), self.worker_id, lease=lease)
        if job is None:
            return "skipped"  # delivered twice, not due yet, or another worker has it
        return (await execute(rt, job)).value

    async def _reconcile(self) -> str:
        rt = self._runtime()
        min_age = timedelta(minutes=self.settings.reconcile_min_age_minutes)
        summary = (await reconcile(rt, min_age=min_age)).summary()
        reminded = await reminders.queue_due(rt)  # the same periodic pass as the worker's
        return f"{summary}; {len(reminded)} payment reminders queued" if reminded else summary


_default_app: Any = None


def __getattr__(name: str) -> Any:
    # `celery -A gated_delivery.jobs.celery_backend` reads `app`: build it on first access
    global _default_app  # one app per worker process, made on demand
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _default_app is None:
        _default_app = make_celery(load_settings())
    return _default_app
