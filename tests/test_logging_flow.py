"""The logs of a whole sale, in JSON: one order's story, and nothing secret or personal."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from gated_delivery.catalogue import add_product_file
from gated_delivery.logcontext import make_handler
from gated_delivery.models import Product
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, checkout, download_link
from gated_delivery.testing.pytest_plugin import TEST_SECRET_KEY

RunJobs = Callable[[], Awaitable[int]]
BUYER_EMAIL = "mariam.traore.logs@example.org"
BUYER_NAME = "Mariam Traoré"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Every record of the test, as GD_LOG_FORMAT=json writes it."""
    stream = io.StringIO()
    handler = make_handler("json", stream, secrets=[TEST_SECRET_KEY])
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


async def _sale(
    client: httpx.AsyncClient, rt: Runtime, fake: FakeProvider, run_jobs: RunJobs
) -> tuple[str, list[str]]:
    """Buy, pay, get the link mail, download twice; the order id and the secrets met."""
    bought = await client.post(
        "/buy/guide/std", data={"email": BUYER_EMAIL, "name": BUYER_NAME}, headers=FORM
    )
    order_id = bought.headers["location"].rsplit("/", 1)[1]
    attempt_id = await checkout(client, order_id)
    fake.will_report(attempt_id)
    forged = await client.post(
        "/payments/fake/notify",
        params={"order": order_id},
        content=b'{"attempt_id": "x"}',
        headers={"x-fake-signature": "forged-signature-value"},
    )
    assert forged.status_code == 400
    body, headers = fake.notification(attempt_id)
    assert (await client.post("/payments/fake/notify", content=body, headers=headers)).is_success
    await run_jobs()
    link = download_link(rt.settings.mail_dir)
    assert (await client.post(link)).status_code == 200
    assert (await client.post(link)).status_code == 410  # used up
    await run_jobs()
    return order_id, [link.rsplit("/", 1)[1], headers["x-fake-signature"]]


@pytest.fixture
async def guide(gd_runtime: Runtime, gd_product: Product, tmp_path: Any) -> Product:
    """The test product with a file to deliver."""
    path = tmp_path / "guide.pdf"
    path.write_bytes(b"%PDF-1.7\nguide\n")
    await add_product_file(
        gd_runtime, gd_product.id, path, filename="guide.pdf", media_type="application/pdf"
    )
    return gd_product


async def test_a_sale_logs_its_story_as_json_and_no_secret(
    gd_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
    guide: Product,
    json_logs: io.StringIO,
) -> None:
    order_id, secrets_met = await _sale(gd_client, gd_runtime, gd_fake_provider, gd_run_jobs)
    text = json_logs.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    story = [line for line in lines if line.get("order_id") == order_id]
    messages = [line["message"] for line in story]

    def seen(pattern: str) -> dict[str, Any]:
        matching = [line for line in story if re.search(pattern, line["message"])]
        assert matching, f"no {pattern!r} in the order's story:\n" + "\n".join(messages)
        return matching[0]

    refused = seen("notification refused")
    assert refused["provider"] == "fake"
    received = seen("^notification received$")
    assert received["provider"] == "fake"
    assert received["attempt_id"]
    check = seen("provider check: fake reports succeeded")
    assert (check["job_kind"], check["attempt_id"]) == ("verify_payment", received["attempt_id"])
    assert check["provider_ref"]
    assert check["job_id"]
    seen(r"payment attempt \w+: pending -> succeeded")
    seen(r"order payment \w+: pending -> paid")
    seen(r"fulfilment \w+: received -> published")
    seen("mail payment_confirmed sent to the buyer")
    assert seen("job done")["job_kind"]
    seen("download served")
    assert any(line["message"] == "download refused: used_up" for line in lines)
    forbidden = [TEST_SECRET_KEY, "fake-provider-test-secret", BUYER_EMAIL, BUYER_NAME]
    for secret in [*forbidden, *secrets_met, "forged-signature-value"]:
        assert secret not in text, f"{secret!r} is in the logs"
