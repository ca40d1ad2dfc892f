"""Staff sessions end for real: logout, a new password, deactivation, idle and age limits."""

from __future__ import annotations

from typing import Any

import httpx
from tests.web.staff.conftest import STAFF_EMAIL, csrf_of, log_in

from gated_delivery import staff_accounts
from gated_delivery.runtime import Runtime
from gated_delivery.web.staff.site import SESSION_COOKIE


def saved_cookie(client: httpx.AsyncClient) -> str:
    value = client.cookies.get(SESSION_COOKIE)
    assert value, "not logged in"
    return value


async def with_cookie(client: httpx.AsyncClient, cookie: str) -> httpx.Response:
    client.cookies.set(SESSION_COOKIE, cookie)
    return await client.get("/staff/")


async def test_a_cookie_saved_before_logout_is_sent_to_the_login_page(
    staff_client: httpx.AsyncClient,
) -> None:
    copied = saved_cookie(staff_client)
    page = await staff_client.get("/staff/")
    await staff_client.post("/staff/logout", data={"csrf": csrf_of(page.text)})
    replayed = await with_cookie(staff_client, copied)
    assert replayed.status_code == 303
    assert "/staff/login" in replayed.headers["location"]


async def test_log_out_everywhere_ends_the_session_of_another_browser(
    staff_client: httpx.AsyncClient, gd_app: Any
) -> None:
    transport = httpx.ASGITransport(app=gd_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as phone:
        assert (await log_in(phone)).status_code == 303
        assert (await phone.get("/staff/")).status_code == 200
        page = await staff_client.get("/staff/")
        assert "Se déconnecter partout" in page.text
        await staff_client.post("/staff/logout", data={"csrf": csrf_of(page.text)})
        # the other browser's own, never copied cookie is refused too
        after = await phone.get("/staff/")
    assert after.status_code == 303
    assert "/staff/login" in after.headers["location"]


async def test_a_cookie_saved_before_set_password_is_sent_to_the_login_page(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    copied = saved_cookie(staff_client)
    assert (await with_cookie(staff_client, copied)).status_code == 200
    await staff_accounts.set_password(gd_runtime, STAFF_EMAIL, "a brand new long password")
    replayed = await with_cookie(staff_client, copied)
    assert replayed.status_code == 303
    assert "/staff/login" in replayed.headers["location"]


async def test_disabling_an_account_ends_its_session(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    await staff_accounts.disable_account(gd_runtime, STAFF_EMAIL)
    assert (await staff_client.get("/staff/")).status_code == 303


async def test_an_idle_session_ends_and_a_used_one_lives_on(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    idle = gd_runtime.settings.staff_session_idle_minutes
    for _ in range(3):  # used within the idle timeout each time: still logged in
        gd_runtime.clock.advance(minutes=idle - 1)  # type: ignore[attr-defined]
        assert (await staff_client.get("/staff/")).status_code == 200
    gd_runtime.clock.advance(minutes=idle + 1)  # type: ignore[attr-defined]
    assert (await staff_client.get("/staff/")).status_code == 303


async def test_a_session_ends_at_its_absolute_lifetime_even_when_used(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    idle = gd_runtime.settings.staff_session_idle_minutes
    hours = gd_runtime.settings.staff_session_max_hours
    for _ in range(hours * 60 // (idle - 1)):
        gd_runtime.clock.advance(minutes=idle - 1)  # type: ignore[attr-defined]
        assert (await staff_client.get("/staff/")).status_code == 200
    gd_runtime.clock.advance(minutes=idle - 1)  # type: ignore[attr-defined]
    assert (await staff_client.get("/staff/")).status_code == 303
