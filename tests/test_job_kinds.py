"""The job kinds: one name, one payload shape and one handler each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_type_hints

import pytest

from gated_delivery import job_kinds
from gated_delivery.jobs.handlers import GIVE_UP, HANDLERS, RETRY_DELAYS
from gated_delivery.jobspec import JobSpec

WHEN = datetime(2026, 1, 1, tzinfo=UTC)

#: Each builder, called once, with the payload type its handler reads.
BUILT: list[tuple[JobSpec, type[Any]]] = [
    (job_kinds.verify_job("att", "ord"), job_kinds.AttemptPayload),
    (job_kinds.fulfil_job("ord"), job_kinds.OrderPayload),
    (job_kinds.generate_job("ord", round_=2), job_kinds.GeneratePayload),
    (
        job_kinds.event_job("fulfilment_published", "ord", key="a", asset_id="a"),
        job_kinds.EventPayload,
    ),
    (job_kinds.mail_job("file_ready", "ord", key="k"), job_kinds.MailPayload),
    (job_kinds.reminder_job("ord"), job_kinds.MailPayload),
    (job_kinds.purchases_mail_job("lnk"), job_kinds.LinkPayload),
    (job_kinds.digest_job("s", "u", run_after=WHEN), job_kinds.DigestPayload),
    (job_kinds.webhook_delivery_job("evt", "end", "ord", tries=3), job_kinds.DeliveryPayload),
    (job_kinds.webhook_notice_job("end", when="t"), job_kinds.EndpointPayload),
]


def test_every_kind_has_exactly_one_handler() -> None:
    assert set(HANDLERS) == job_kinds.ALL
    assert set(GIVE_UP) <= job_kinds.ALL
    assert set(RETRY_DELAYS) <= job_kinds.ALL


def test_every_kind_has_a_builder() -> None:
    assert {job.kind for job, _ in BUILT} == job_kinds.ALL


@pytest.mark.parametrize(("job", "shape"), BUILT, ids=lambda v: getattr(v, "kind", ""))
def test_a_builder_writes_its_payload_shape(job: JobSpec, shape: type[Any]) -> None:
    keys = set(get_type_hints(shape))
    assert shape.__required_keys__ <= set(job.payload) <= keys  # type: ignore[attr-defined]


@pytest.mark.parametrize(("job", "shape"), BUILT, ids=lambda v: getattr(v, "kind", ""))
def test_a_builder_names_its_occurrence(job: JobSpec, shape: type[Any]) -> None:
    if job.kind == job_kinds.VERIFY:
        assert job.dedupe_key is None  # a notification's check: its record dedupes it
    else:
        assert job.dedupe_key


def test_dedupe_keys_tell_occurrences_apart() -> None:
    assert (
        job_kinds.generate_job("o", round_=1).dedupe_key
        != job_kinds.generate_job("o", round_=2).dedupe_key
    )
    again = job_kinds.webhook_delivery_job("e", "p", None, tries=3, again="x")
    assert again.dedupe_key != job_kinds.webhook_delivery_job("e", "p", None, tries=3).dedupe_key
    assert again.max_attempts == 3


def test_a_reminder_is_one_per_order_ever() -> None:
    assert job_kinds.reminder_job("o").dedupe_key == job_kinds.reminder_job("o").dedupe_key
    assert job_kinds.reminder_job("o").payload["template"] == "payment_reminder"
