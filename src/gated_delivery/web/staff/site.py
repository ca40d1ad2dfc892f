"""What every staff page shares: templates, who is logged in, the session and CSRF tokens.

The built-in login keeps a signed session cookie (itsdangerous) naming the staff account, its
session version and a random nonce; the CSRF token of every form is an HMAC of that nonce,
so it dies with the session. The cookie is honoured only while the account's session version
is the one it carries (logout, a new password or deactivation raise it, ending every session
of the account), while it has been used within ``GD_STAFF_SESSION_IDLE_MINUTES`` and for at
most ``GD_STAFF_SESSION_MAX_HOURS`` after the login. A host app's authenticator (the
``staff_authenticator`` hook) replaces the login; its CSRF token is then an HMAC of the
staff user's id, still bound to the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, quote

import jinja2
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from gated_delivery import formats, plugins, staff_accounts
from gated_delivery.errors import InvalidInput
from gated_delivery.models import StaffAccount
from gated_delivery.plugin_protocols import StaffAuthenticator
from gated_delivery.plugin_types import StaffUser
from gated_delivery.runtime import Runtime
from gated_delivery.web.body import read_limited
from gated_delivery.web.deps import client_ip
from gated_delivery.web.staff import i18n
from gated_delivery.web.staff.words import Words

__all__ = ["LOGIN_COOKIE", "SESSION_COOKIE", "StaffSite", "client_ip", "read_form"]

SESSION_COOKIE: Final = "gd_staff"
#: The login form's own CSRF cookie: there is no session yet to bind the token to.
LOGIN_COOKIE: Final = "gd_staff_login"
#: A session's "last seen" time is renewed at most this often (each renewal sets a cookie).
SESSION_REFRESH_SECONDS: Final = 60
PACKAGE_TEMPLATES: Final = Path(__file__).parent / "templates"


class StaffSite:
    """The staff pages of one app: its runtime, templates and staff authentication."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.host_auth: StaffAuthenticator | None = plugins.staff_authenticator(rt.pm, rt.settings)
        self.serializer = URLSafeTimedSerializer(rt.settings.secret, salt="gd-staff-session")
        folders: list[jinja2.BaseLoader] = []
        if rt.settings.templates_dir is not None:
            # the host's own versions first: GD_TEMPLATES_DIR/staff/<name>.html
            folders.append(jinja2.FileSystemLoader(rt.settings.templates_dir / "staff"))
        folders.append(jinja2.FileSystemLoader(PACKAGE_TEMPLATES))
        env = jinja2.Environment(loader=jinja2.ChoiceLoader(folders), autoescape=True)
        self.templates = Jinja2Templates(env=env)
        self.is_secure = rt.settings.base_url.startswith("https://")
        self.zone = formats.zone(rt.settings.timezone)
        self.provider_names = {name: p.display_name for name, p in rt.providers.items()}

    # --- rendering ------------------------------------------------------------------

    def url(self, request: Request, path: str = "") -> str:
        """``path`` under the staff pages' mount point."""
        return f"{request.scope.get('root_path', '')}{path}"

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        status_code: int = 200,
        user: StaffUser | None = None,
    ) -> Response:
        """A page in the request's language, with the CSRF token its forms need."""
        lang = i18n.language(request)
        response = self.templates.TemplateResponse(
            request,
            name,
            {
                "t": i18n.translator(lang),
                "say": Words(lang, self.zone, self.provider_names),
                "lang": lang,
                "other_lang": "en" if lang == "fr" else "fr",
                "base": self.url(request),
                "user": user,
                "csrf": self.csrf_token(request, user) if user else "",
                "can_log_out": user is not None and self.host_auth is None,
                **context,
            },
            status_code=status_code,
            headers={
                "cache-control": "no-store",
                "x-frame-options": "DENY",
                "referrer-policy": "same-origin",
                "content-security-policy": "default-src 'self'; style-src 'unsafe-inline'; "
                "form-action 'self'; frame-ancestors 'none'",
            },
        )
        if request.query_params.get("lang") in i18n.LANGUAGES:
            response.set_cookie(
                i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=self.is_secure
            )
        return response

    # --- who is there -----------------------------------------------------------------

    async def current_user(self, request: Request) -> StaffUser | None:
        """The logged-in staff user, or None."""
        if self.host_auth is not None:
            return await self.host_auth.authenticate(request)
        session = self._session(request)
        if session is None or not self._is_fresh(session):
            return None
        account = await staff_accounts.get_active(self.rt, str(session.get("uid", "")))
        if account is None or session.get("ver") != account.session_version:
            return None
        return StaffUser(
            id=account.id,
            email=account.email,
            display_name=account.display_name,
            is_admin=account.is_admin,
        )

    def _is_fresh(self, session: dict[str, Any]) -> bool:
        now = self.rt.clock.now().timestamp()
        issued, seen = session.get("iat"), session.get("seen")
        if not isinstance(issued, int | float) or not isinstance(seen, int | float):
            return False
        settings = self.rt.settings
        return (
            now - issued <= settings.staff_session_max_hours * 3600
            and now - seen <= settings.staff_session_idle_minutes * 60
        )

    def _session(self, request: Request) -> dict[str, Any] | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = self.serializer.loads(raw, max_age=self.max_age_seconds)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

    @property
    def max_age_seconds(self) -> int:
        """The absolute lifetime of a session, in seconds."""
        return self.rt.settings.staff_session_max_hours * 3600

    def login_redirect(self, request: Request) -> Response:
        """303 to the login page, coming back here (GET) afterwards."""
        back = request.url.path if request.method == "GET" else self.url(request, "/")
        return RedirectResponse(
            self.url(request, f"/login?next={quote(back, safe='/')}"), status_code=303
        )

    def start_session(self, response: Response, account: StaffAccount) -> None:
        """Set the session cookie for ``account`` with a fresh nonce."""
        now = int(self.rt.clock.now().timestamp())
        self._set_session(
            response,
            {
                "uid": account.id,
                "ver": account.session_version,
                "nonce": secrets.token_urlsafe(24),
                "iat": now,
                "seen": now,
            },
        )

    def keep_alive(self, request: Request, response: Response) -> None:
        """Renew the session's "last seen" time on ``response`` (the idle timeout restarts)."""
        session = self._session(request) if self.host_auth is None else None
        if session is None:
            return
        now = int(self.rt.clock.now().timestamp())
        if now - int(session.get("seen", 0)) >= SESSION_REFRESH_SECONDS:
            self._set_session(response, {**session, "seen": now})

    def _set_session(self, response: Response, data: dict[str, Any]) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.serializer.dumps(data),
            max_age=self.max_age_seconds,
            httponly=True,
            samesite="lax",
            secure=self.is_secure,
            path=self.cookie_path,
        )

    def end_session(self, response: Response) -> None:
        """Remove the session cookie."""
        response.delete_cookie(
            SESSION_COOKIE,
            path=self.cookie_path,
            httponly=True,
            samesite="lax",
            secure=self.is_secure,
        )

    #: cookies are sent for every path: the mount prefix is only known per request
    cookie_path: Final = "/"

    # --- CSRF -----------------------------------------------------------------------

    def csrf_token(self, request: Request, user: StaffUser) -> str:
        """The token the forms of ``user``'s pages carry."""
        session = self._session(request) if self.host_auth is None else None
        binding = f"session:{session.get('nonce', '')}" if session else f"user:{user.id}"
        return self._mac(binding)

    def check_csrf(self, request: Request, user: StaffUser, sent: str | None) -> None:
        """403 unless ``sent`` is this session's CSRF token (compared in constant time)."""
        if not sent or not hmac.compare_digest(sent, self.csrf_token(request, user)):
            raise HTTPException(403, "missing or wrong CSRF token; reload the page and retry")

    def login_csrf(self, request: Request) -> str:
        """The login form's token: the HMAC of a random value kept in its own cookie."""
        seed = request.cookies.get(LOGIN_COOKIE) or ""
        return self.login_token(seed) if seed else ""

    def login_token(self, seed: str) -> str:
        """The login form's token for the random ``seed`` of its cookie."""
        return self._mac(f"login:{seed}")

    def _mac(self, value: str) -> str:
        key = self.rt.settings.secret.encode()
        return hmac.new(key, f"staff-csrf:{value}".encode(), hashlib.sha256).hexdigest()


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form (at most 64 KiB); 415 for anything else."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    body = await read_limited(request)
    if not body and not kind:
        return {}  # an empty form: the CSRF check then refuses it with 403
    if kind != "application/x-www-form-urlencoded":
        raise HTTPException(415, "send the form as application/x-www-form-urlencoded")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form could not be read (UTF-8, at most 50 fields)") from None


def new_login_seed() -> str:
    """A random value for the login form's CSRF cookie."""
    return secrets.token_urlsafe(24)
