"""Buyer steps for tests, through the real routes: check out, and pay with the fake provider."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from gated_delivery.money import Money
from gated_delivery.sandbox.fake_provider import FakeProvider


async def checkout(client: httpx.AsyncClient, order_id: str, provider: str = "fake") -> str:
    """Start a payment attempt as the buyer's button does; returns the attempt id.

    Only the fake provider puts the attempt id last in its redirect; for another provider,
    read the attempt from the database.
    """
    response = await client.post(f"/checkout/{order_id}/{provider}")
    assert response.status_code == 303, response.text
    return str(response.headers["location"].rsplit("/", 1)[1])


async def notify_fake(
    client: httpx.AsyncClient, fake: FakeProvider, attempt_id: str, *, status: str = "succeeded"
) -> httpx.Response:
    """Deliver the fake provider's signed notification about an attempt."""
    body, headers = fake.notification(attempt_id, status=status)
    return await client.post("/payments/fake/notify", content=body, headers=headers)


async def pay_with_fake(
    client: httpx.AsyncClient,
    fake: FakeProvider,
    order_id: str,
    run_jobs: Callable[[], Awaitable[int]],
    *,
    amount: Money | None = None,
) -> str:
    """Check out, have the fake provider confirm (``amount``: a different one), notify, run
    the jobs due; returns the attempt id."""
    attempt_id = await checkout(client, order_id)
    fake.will_report(attempt_id, amount=amount)
    await notify_fake(client, fake, attempt_id)
    await run_jobs()
    return attempt_id


def download_link(mail_dir: Path, base_url: str = "http://testserver") -> str:
    """The path of the first download link in the mails written to ``mail_dir``."""
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        found = re.search(re.escape(base_url) + r"(/download/\S+)", text)
        if found:
            return found.group(1)
    raise AssertionError(f"no download link in the mails of {mail_dir}")
