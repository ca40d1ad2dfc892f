"""The staff pages (web/staff/) through httpx: login, CSRF, guarded actions, the hook."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.requests import Request
from tests.web.staff.conftest import (
    STAFF_EMAIL,
    RunJobs,
    csrf_of,
    log_in,
    pay,
    review_order,
)

from gated_delivery.hookspecs import hookimpl
from gated_delivery.models import Asset, AuditEvent, DownloadToken, Job, Order, PaymentAttempt
from gated_delivery.plugin_types import StaffUser
from gated_delivery.runtime import Runtime
from gated_delivery.states import AttemptState, FulfilmentState, PaymentStatus
from gated_delivery.testing import FakeProvider
from gated_delivery.web.app import create_app

PDF_BYTES = b"%PDF-1.4\n% final report\n%%EOF\n"
#: Every POST action of an order's page, with the fields its form sends.
ACTIONS: dict[str, dict[str, str]] = {
    "publish": {},
    "resend": {},
    "revoke": {"reason": "chargeback"},
    "retry-generation": {},
    "recheck": {},
    "review/accept": {"attempt_id": "x", "reason": "ok"},
    "review/refund": {"attempt_id": "x", "reason": "ok"},
    "refund": {"reason": "ok"},
}


async def snapshot(rt: Runtime, order_id: str) -> tuple[Any, ...]:
    """Everything an action could change, to show that a refused one changed nothing."""
    async with rt.db.transaction() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        counts = [
            (await session.execute(sa.select(sa.func.count()).select_from(m))).scalar_one()
            for m in (Asset, AuditEvent, Job, DownloadToken)
        ]
        attempts = sorted(
            (a.id, a.state.value)
            for a in (
                await session.execute(
                    sa.select(PaymentAttempt).where(PaymentAttempt.order_id == order_id)
                )
            ).scalars()
        )
        return (order.payment_status, order.fulfilment_status, *counts, attempts)


async def upload(client: httpx.AsyncClient, order_id: str, csrf: str | None) -> httpx.Response:
    data = {"csrf": csrf} if csrf is not None else {}
    return await client.post(
        f"/staff/orders/{order_id}/final",
        data=data,
        files={"file": ("rapport final.pdf", PDF_BYTES, "application/pdf")},
    )


# --- access ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_every_action_without_login_redirects_to_the_login_page(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, action: str
) -> None:
    order = await review_order(gd_runtime)
    before = await snapshot(gd_runtime, order.id)
    response = await gd_client.post(f"/staff/orders/{order.id}/{action}", data=ACTIONS[action])
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")
    assert await snapshot(gd_runtime, order.id) == before


async def test_pages_and_upload_without_login_redirect_to_the_login_page(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    order = await review_order(gd_runtime)
    for path in ("/staff/", "/staff/orders", f"/staff/orders/{order.id}"):
        response = await gd_client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/staff/login?next={path}"
    response = await upload(gd_client, order.id, "anything")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_every_action_without_csrf_token_is_forbidden(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime, action: str
) -> None:
    order = await review_order(gd_runtime)
    before = await snapshot(gd_runtime, order.id)
    for token in (None, "forged"):
        data = dict(ACTIONS[action])
        if token is not None:
            data["csrf"] = token
        response = await staff_client.post(f"/staff/orders/{order.id}/{action}", data=data)
        assert response.status_code == 403
    assert await snapshot(gd_runtime, order.id) == before


async def test_upload_without_csrf_token_is_forbidden_and_keeps_no_file(
    staff_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await review_order(gd_runtime)
    await pay(staff_client, gd_fake_provider, order, gd_run_jobs)
    before = await snapshot(gd_runtime, order.id)
    assert (await upload(staff_client, order.id, None)).status_code == 403
    assert (await upload(staff_client, order.id, "forged")).status_code == 403
    assert await snapshot(gd_runtime, order.id) == before
    media = gd_runtime.settings.private_media_root
    assert not [p for p in media.rglob("*") if p.is_file() and "staff-upload" in str(p)]


async def test_login_needs_its_csrf_token_and_the_right_password(
    gd_client: httpx.AsyncClient, staff_account: str
) -> None:
    await gd_client.get("/staff/login")
    no_token = await gd_client.post(
        "/staff/login", data={"email": STAFF_EMAIL, "password": "correct horse battery staple"}
    )
    assert no_token.status_code == 403
    wrong = await log_in(gd_client, password="not the password at all")
    assert wrong.status_code == 401
    assert "gd_staff=" not in wrong.headers.get("set-cookie", "").replace("gd_staff_login", "")
    right = await log_in(gd_client)
    assert right.status_code == 303
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # http base URL in tests
    assert (await gd_client.get("/staff/")).status_code == 200


async def test_login_is_rate_limited_per_account(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, staff_account: str
) -> None:
    for _ in range(5):
        assert (await log_in(gd_client, password="wrong password here")).status_code == 401
    # the right password no longer helps until the window has passed
    assert (await log_in(gd_client)).status_code == 429
    gd_runtime.clock.advance(minutes=16)  # type: ignore[attr-defined]
    assert (await log_in(gd_client)).status_code == 303


async def test_login_is_rate_limited_per_client_address(
    gd_client: httpx.AsyncClient, gd_runtime: Runtime, staff_account: str
) -> None:
    from gated_delivery import staff_accounts

    # one address guessing many accounts: no account reaches its own limit
    for n in range(staff_accounts.FAILURES_PER_CLIENT):
        page = await gd_client.get("/staff/login")
        answer = await gd_client.post(
            "/staff/login",
            data={
                "email": f"guess{n}@example.org",
                "password": "wrong password here",
                "csrf": csrf_of(page.text),
            },
        )
        assert answer.status_code == 401
    assert (await log_in(gd_client)).status_code == 429
    gd_runtime.clock.advance(minutes=16)  # type: ignore[attr-defined]
    assert (await log_in(gd_client)).status_code == 303


async def test_logout_ends_the_session(staff_client: httpx.AsyncClient) -> None:
    page = await staff_client.get("/staff/")
    response = await staff_client.post("/staff/logout", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    assert (await staff_client.get("/staff/")).status_code == 303


# --- pages -----------------------------------------------------------------------------


async def test_list_filters_searches_and_counts(
    staff_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    paid = await review_order(gd_runtime, "paid@example.org")
    await pay(staff_client, gd_fake_provider, paid, gd_run_jobs)
    unpaid = await review_order(gd_runtime, "unpaid@example.org")
    short = await review_order(gd_runtime, "short@example.org")
    await pay(staff_client, gd_fake_provider, short, gd_run_jobs, paid_minor=100)

    everything = (await staff_client.get("/staff/orders")).text
    assert all(o.id in everything for o in (paid, unpaid, short))
    only_paid = (await staff_client.get("/staff/orders?payment=paid")).text
    assert paid.id in only_paid
    assert unpaid.id not in only_paid
    assert short.id not in only_paid
    found = (await staff_client.get("/staff/orders?q=UNPAID@example")).text
    assert unpaid.id in found
    assert paid.id not in found
    by_id = (await staff_client.get(f"/staff/orders?q={short.id}")).text
    assert short.id in by_id
    assert paid.id not in by_id
    review = (await staff_client.get("/staff/orders?payment=review")).text
    assert short.id in review
    assert paid.id not in review
    assert 'href="?payment=review"><strong>1</strong>' in everything


async def test_detail_shows_the_order_in_french_and_english(
    staff_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await review_order(gd_runtime)
    await pay(staff_client, gd_fake_provider, order, gd_run_jobs)
    french = await staff_client.get(f"/staff/orders/{order.id}")
    assert french.status_code == 200
    assert "Réponses au formulaire" in french.text
    assert "Awa SARL" in french.text
    assert "awa@example.org" in french.text
    assert "fake-" in french.text  # the provider's reference of the attempt
    english = await staff_client.get(f"/staff/orders/{order.id}?lang=en")
    assert "Form answers" in english.text
    # the choice is remembered
    assert "Form answers" in (await staff_client.get(f"/staff/orders/{order.id}")).text


# --- actions ---------------------------------------------------------------------------


async def test_upload_then_publish_twice_sends_one_mail(
    staff_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await review_order(gd_runtime)

    def offered(html: str) -> set[str]:
        actions = re.findall(rf'action="/staff/orders/{order.id}/([a-z-]+)"', html)
        return set(actions) - {"review"}

    unpaid = await staff_client.get(f"/staff/orders/{order.id}")
    assert offered(unpaid.text) == {"revoke"}  # nothing to upload or publish before payment
    await pay(staff_client, gd_fake_provider, order, gd_run_jobs)
    page = await staff_client.get(f"/staff/orders/{order.id}")
    assert offered(page.text) == {"final", "revoke", "refund"}  # a review product publishes a final
    csrf = csrf_of(page.text)
    uploaded = await upload(staff_client, order.id, csrf)
    assert uploaded.status_code == 303, uploaded.text
    page = await staff_client.get(f"/staff/orders/{order.id}")
    assert offered(page.text) == {"final", "publish", "revoke", "refund"}
    for _ in range(2):
        published = await staff_client.post(
            f"/staff/orders/{order.id}/publish", data={"csrf": csrf}
        )
        assert published.status_code == 303
    await gd_run_jobs()
    async with gd_runtime.db.transaction() as session:
        sent = (
            await session.execute(
                sa.select(AuditEvent).where(
                    AuditEvent.order_id == order.id,
                    AuditEvent.machine == "mail",
                    AuditEvent.event == "sent",
                )
            )
        ).scalars()
        link_mails = [e for e in sent if e.data.get("template") == "file_ready"]
        published_by = (
            await session.execute(
                sa.select(AuditEvent.actor).where(
                    AuditEvent.order_id == order.id, AuditEvent.to_state == "published"
                )
            )
        ).scalar_one()
        order_now = await session.get(Order, order.id)
    assert len(link_mails) == 1
    assert published_by == f"staff:{STAFF_EMAIL}"
    assert order_now is not None
    assert order_now.fulfilment_status is FulfilmentState.PUBLISHED
    # staged upload files are gone; only the final stays
    files = [p for p in gd_runtime.settings.private_media_root.rglob("*") if p.is_file()]
    assert len(files) == 1


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("publish", "not paid"),
        ("resend", "not paid"),
        ("retry-generation", "only a failed generation"),
        ("revoke", "reason is required"),
        ("recheck", "no open payment attempt"),
    ],
)
async def test_wrong_state_is_refused_with_its_reason_and_changes_nothing(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime, action: str, words: str
) -> None:
    order = await review_order(gd_runtime)
    page = await staff_client.get(f"/staff/orders/{order.id}")
    before = await snapshot(gd_runtime, order.id)
    data = {"csrf": csrf_of(page.text)}
    response = await staff_client.post(f"/staff/orders/{order.id}/{action}", data=data)
    assert response.status_code == 409
    assert "Action refusée" in response.text
    assert words in response.text
    assert await snapshot(gd_runtime, order.id) == before


async def test_upload_for_an_unpaid_order_is_refused_and_keeps_no_file(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    order = await review_order(gd_runtime)
    page = await staff_client.get(f"/staff/orders/{order.id}")
    before = await snapshot(gd_runtime, order.id)
    response = await upload(staff_client, order.id, csrf_of(page.text))
    assert response.status_code == 409
    assert "paid order" in response.text
    assert await snapshot(gd_runtime, order.id) == before
    assert not [p for p in gd_runtime.settings.private_media_root.rglob("*") if p.is_file()]


async def test_review_payment_accepted_as_paid_with_a_reason(
    staff_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await review_order(gd_runtime)
    attempt_id = await pay(staff_client, gd_fake_provider, order, gd_run_jobs, paid_minor=24000)
    page = await staff_client.get(f"/staff/orders/{order.id}")
    csrf = csrf_of(page.text)
    before = await snapshot(gd_runtime, order.id)
    no_reason = await staff_client.post(
        f"/staff/orders/{order.id}/review/accept",
        data={"csrf": csrf, "attempt_id": attempt_id, "reason": " "},
    )
    assert no_reason.status_code == 409
    assert "reason is required" in no_reason.text
    assert await snapshot(gd_runtime, order.id) == before
    accepted = await staff_client.post(
        f"/staff/orders/{order.id}/review/accept",
        data={"csrf": csrf, "attempt_id": attempt_id, "reason": "bank fee, agreed by phone"},
    )
    assert accepted.status_code == 303
    async with gd_runtime.db.transaction() as session:
        order_now = await session.get(Order, order.id)
        attempt = await session.get(PaymentAttempt, attempt_id)
        event = (
            await session.execute(
                sa.select(AuditEvent).where(
                    AuditEvent.subject_id == attempt_id, AuditEvent.to_state == "succeeded"
                )
            )
        ).scalar_one()
    assert order_now is not None
    assert order_now.payment_status is PaymentStatus.PAID
    assert attempt is not None
    assert attempt.state is AttemptState.SUCCEEDED
    assert event.actor == f"staff:{STAFF_EMAIL}"
    assert "bank fee" in event.reason


async def test_review_payment_marked_refunded(
    staff_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await review_order(gd_runtime)
    attempt_id = await pay(staff_client, gd_fake_provider, order, gd_run_jobs, paid_minor=100)
    page = await staff_client.get(f"/staff/orders/{order.id}")
    refunded = await staff_client.post(
        f"/staff/orders/{order.id}/review/refund",
        data={"csrf": csrf_of(page.text), "attempt_id": attempt_id, "reason": "underpaid"},
    )
    assert refunded.status_code == 303
    async with gd_runtime.db.transaction() as session:
        order_now = await session.get(Order, order.id)
    assert order_now is not None
    assert order_now.payment_status is PaymentStatus.REFUNDED


async def test_recheck_asks_the_provider_now(
    staff_client: httpx.AsyncClient, gd_runtime: Runtime, gd_fake_provider: FakeProvider
) -> None:
    order = await review_order(gd_runtime)
    started = await staff_client.post(f"/checkout/{order.id}/fake")
    attempt_id = started.headers["location"].rsplit("/", 1)[1]
    gd_fake_provider.will_report(attempt_id)  # paid, but no webhook arrived
    page = await staff_client.get(f"/staff/orders/{order.id}")
    response = await staff_client.post(
        f"/staff/orders/{order.id}/recheck", data={"csrf": csrf_of(page.text)}
    )
    assert response.status_code == 303
    async with gd_runtime.db.transaction() as session:
        order_now = await session.get(Order, order.id)
    assert order_now is not None
    assert order_now.payment_status is PaymentStatus.PAID


# --- a host app's own authentication ------------------------------------------------------


class HeaderAuth:
    """A host app's authenticator: its proxy puts the staff e-mail in a header."""

    async def authenticate(self, request: Request) -> StaffUser | None:
        email = request.headers.get("x-host-staff")
        return StaffUser(id=f"host-{email}", email=email) if email else None


class HostAuthPlugin:
    @hookimpl
    def staff_authenticator(self, settings: object) -> HeaderAuth:
        return HeaderAuth()


async def test_a_host_plugin_replaces_the_login(
    gd_runtime: Runtime, gd_fake_provider: FakeProvider
) -> None:
    gd_runtime.pm.register(HostAuthPlugin(), name="host-auth")
    app = create_app(runtime=gd_runtime, run_worker=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        order = await review_order(gd_runtime)
        assert (await client.get("/staff/")).status_code == 303
        headers = {"x-host-staff": "boss@host.example"}
        page = await client.get(f"/staff/orders/{order.id}", headers=headers)
        assert page.status_code == 200
        assert "boss@host.example" in page.text
        refused = await client.post(
            f"/staff/orders/{order.id}/publish",
            data={"csrf": csrf_of(page.text)},
            headers=headers,
        )
        assert refused.status_code == 409  # authenticated and CSRF-checked; the state refuses
        forged = await client.post(
            f"/staff/orders/{order.id}/publish", data={"csrf": "x"}, headers=headers
        )
        assert forged.status_code == 403


async def test_refund_of_a_paid_order_says_it_was_only_recorded(
    staff_client: httpx.AsyncClient,
    gd_runtime: Runtime,
    gd_fake_provider: FakeProvider,
    gd_run_jobs: RunJobs,
) -> None:
    order = await review_order(gd_runtime)
    await pay(staff_client, gd_fake_provider, order, gd_run_jobs)
    page = await staff_client.get(f"/staff/orders/{order.id}")
    assert f"/staff/orders/{order.id}/refund" in page.text
    refunded = await staff_client.post(
        f"/staff/orders/{order.id}/refund",
        data={"csrf": csrf_of(page.text), "reason": "buyer cancelled"},
        follow_redirects=True,
    )
    assert refunded.status_code == 200
    assert "Remboursement enregistré seulement" in refunded.text
    assert f'/staff/orders/{order.id}/refund"' not in refunded.text  # no longer offered
    async with gd_runtime.db.transaction() as session:
        order_now = await session.get(Order, order.id)
    assert order_now is not None
    assert order_now.payment_status is PaymentStatus.REFUNDED
