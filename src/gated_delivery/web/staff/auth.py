"""Logging in and out of the staff pages (the built-in login)."""

from __future__ import annotations

import hmac

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gated_delivery import staff_accounts
from gated_delivery.web.staff.site import (
    LOGIN_COOKIE,
    StaffSite,
    client_ip,
    new_login_seed,
    read_form,
)


def _safe_next(site: StaffSite, request: Request, target: str) -> str:
    # only a path under the staff pages: never another site (an open redirect)
    base = site.url(request)
    if target.startswith(f"{base}/") and not target.startswith("//") and "\\" not in target:
        return target
    return site.url(request, "/")


async def login_page(site: StaffSite, request: Request) -> Response:
    """``GET /staff/login``: the form, with a fresh CSRF cookie."""
    return _login_form(site, request, error="", status_code=200)


def _login_form(site: StaffSite, request: Request, *, error: str, status_code: int) -> Response:
    seed = new_login_seed()
    response = site.render(
        request,
        "login.html",
        {
            "error": error,
            "login_csrf": site.login_token(seed),
            "next": request.query_params.get("next", ""),
            "action": site.url(request, "/login"),
        },
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        seed,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=site.is_secure,
        path=site.cookie_path,
    )
    return response


async def login(site: StaffSite, request: Request) -> Response:
    """``POST /staff/login``: check the CSRF token, the rate limits, then the password."""
    form = await read_form(request)
    expected = site.login_csrf(request)
    sent = form.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and retry")
    result = await staff_accounts.log_in(
        site.rt, form.get("email", ""), form.get("password", ""), client_ip(request)
    )
    if result.account is None:
        status = 429 if result.refusal == "rate_limited" else 401
        return _login_form(site, request, error=result.refusal, status_code=status)
    response = RedirectResponse(_safe_next(site, request, form.get("next", "")), status_code=303)
    site.start_session(response, result.account)
    response.delete_cookie(LOGIN_COOKIE, path=site.cookie_path)
    return response


async def logout(site: StaffSite, request: Request) -> Response:
    """``POST /staff/logout``: end every session of the account (CSRF-checked)."""
    user = await site.current_user(request)
    if user is None:
        return site.login_redirect(request)
    form = await read_form(request)
    site.check_csrf(request, user, form.get("csrf"))
    # every session of the account ends, not only this browser's: a copied cookie too
    await staff_accounts.end_sessions(site.rt, user.id, actor=f"staff:{user.email}")
    response = RedirectResponse(site.url(request, "/login"), status_code=303)
    site.end_session(response)
    return response
