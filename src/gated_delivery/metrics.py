"""Prometheus metrics: counters of what each process did, and the database's own counts.

Two kinds, both shown by ``GET /metrics`` (``GD_METRICS=1``):

- Event counters and timings (notifications, checks, job runs, mails, downloads, time from
  notification to PAID) are kept by the process where the event happens. With several
  processes (web app, ``gated-delivery worker``, Celery workers), set
  ``PROMETHEUS_MULTIPROC_DIR`` to one empty folder in all of them, as prometheus-client's
  multiprocess mode asks: every process writes there and a scrape of any web process adds
  them up.
- State counts (orders per payment status, attempts per state, jobs per kind and state, jobs
  due now) are read from the database at each scrape, so they are right whatever process
  changed them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any, Final

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from gated_delivery.models import Job, JobState, Order, PaymentAttempt
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState

#: Reasons are free text: keep label values few and short.
_MAX_REASON: Final = 60

NOTIFICATIONS: Final = Counter(
    "gd_notifications_total",
    "Notifications received, by provider and outcome (new, duplicate, refused)",
    ["provider", "outcome"],
)
REFUSALS: Final = Counter(
    "gd_notifications_refused_total",
    "Notifications refused, by provider and reason",
    ["provider", "reason"],
)
CHECKS: Final = Counter(
    "gd_provider_checks_total",
    "Server-to-server status checks, by provider and what the provider reported",
    ["provider", "reported"],
)
JOB_RUNS: Final = Counter(
    "gd_job_runs_total",
    "Job runs, by kind and outcome (done, retry, dead, gave_up)",
    ["kind", "outcome"],
)
JOB_SECONDS: Final = Histogram("gd_job_seconds", "Time a job's handler took", ["kind"])
MAILS: Final = Counter(
    "gd_mails_total", "Mails, by template and outcome (sent, failed)", ["template", "outcome"]
)
DOWNLOADS: Final = Counter(
    "gd_downloads_total",
    "Download attempts, by outcome (served, or why refused)",
    ["outcome"],
)
TO_PAID: Final = Histogram(
    "gd_notification_to_paid_seconds",
    "Time from an attempt's first notification to its order being PAID",
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600),
)


def reason_label(reason: str) -> str:
    """A refusal reason short enough, and digit-free, to be a label value."""
    return "".join("#" if c.isdigit() else c for c in reason)[:_MAX_REASON]


async def database_counts(rt: Runtime) -> list[Metric]:
    """The state counts, read now from the database."""
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        orders = await session.execute(
            sa.select(Order.payment_status, sa.func.count()).group_by(Order.payment_status)
        )
        attempts = await session.execute(
            sa.select(PaymentAttempt.state, sa.func.count()).group_by(PaymentAttempt.state)
        )
        jobs = await session.execute(
            sa.select(Job.kind, Job.state, sa.func.count()).group_by(Job.kind, Job.state)
        )
        due = await session.execute(
            sa.select(Job.kind, sa.func.count())
            .where(Job.state == JobState.PENDING, Job.run_after <= now)
            .group_by(Job.kind)
        )
        oldest = (
            await session.execute(
                sa.select(sa.func.min(PaymentAttempt.created_at)).where(
                    PaymentAttempt.state == AttemptState.PENDING
                )
            )
        ).scalar_one()
        pending = GaugeMetricFamily(
            "gd_oldest_pending_payment_seconds",
            "Age of the oldest payment still pending (0: none)",
            value=(now - oldest).total_seconds() if oldest else 0,
        )
        families = [
            pending,
            _gauge("gd_orders", "Orders per payment status", ["payment"], orders),
            _gauge("gd_payment_attempts", "Payment attempts per state", ["state"], attempts),
            _gauge("gd_jobs", "Outbox jobs per kind and state", ["kind", "state"], jobs),
            _gauge("gd_jobs_due", "Jobs due now, waiting for a worker", ["kind"], due),
        ]
    return families


def _gauge(name: str, doc: str, labels: list[str], rows: Iterable[Any]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for *values, count in rows:
        family.add_metric([getattr(v, "value", str(v)) for v in values], int(count))
    return family


class _Fixed(Collector):
    """Collects metrics computed beforehand (the database's, read asynchronously)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        """The families given."""
        yield from self.families


async def render(rt: Runtime) -> bytes:
    """Everything, in the Prometheus text format."""
    registry = CollectorRegistry()
    registry.register(_Fixed(await database_counts(rt)))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # adds up every process
        return generate_latest(registry)
    return generate_latest(registry) + generate_latest(REGISTRY)
