"""Fixtures of the staff pages' tests: a staff account, a logged-in client, a paid order."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
import pytest_asyncio

from gated_delivery import staff_accounts
from gated_delivery.models import Order
from gated_delivery.money import Money
from gated_delivery.runtime import Runtime
from gated_delivery.testing import FakeProvider, pay_with_fake
from gated_delivery.testing.orders import make_order

RunJobs = Callable[[], Awaitable[int]]
STAFF_EMAIL = "lea@example.org"
STAFF_PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def log_in(client: httpx.AsyncClient, password: str = STAFF_PASSWORD) -> httpx.Response:
    """Fill in the login form as a browser would."""
    page = await client.get("/staff/login")
    return await client.post(
        "/staff/login",
        data={"email": STAFF_EMAIL, "password": password, "csrf": csrf_of(page.text)},
    )


@pytest_asyncio.fixture
async def staff_account(gd_runtime: Runtime) -> str:
    """A staff account; returns its id."""
    account = await staff_accounts.create_account(
        gd_runtime, STAFF_EMAIL, STAFF_PASSWORD, display_name="Léa"
    )
    return account.id


@pytest_asyncio.fixture
async def staff_client(gd_client: httpx.AsyncClient, staff_account: str) -> httpx.AsyncClient:
    """The app's client, logged in as the staff account."""
    response = await log_in(gd_client)
    assert response.status_code == 303, response.text
    return gd_client


async def review_order(rt: Runtime, email: str = "awa@example.org") -> Order:
    """An UNPAID order of a product that needs a staff-reviewed final."""
    answers = {"company": "Awa SARL"}
    return await make_order(rt, requires_review=True, buyer_email=email, answers=answers)


async def pay(
    client: httpx.AsyncClient,
    fake: FakeProvider,
    order: Order,
    run: RunJobs,
    *,
    paid_minor: int | None = None,
) -> str:
    """Pay ``order`` through the fake provider (``paid_minor`` for an amount mismatch)."""
    amount = None if paid_minor is None else Money(paid_minor, order.currency)
    return await pay_with_fake(client, fake, order.id, run, amount=amount)
