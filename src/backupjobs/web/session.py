"""Who is signed in, the cookies, CSRF tokens and the headers every dashboard answer carries.

Routes declare ``user: User`` (signed in, or a redirect to the sign-in page) and, when
they change something, ``form: Form`` (the posted form, refused unless it carries the CSRF
token of this browser's cookie). A CSRF token is an HMAC of the cookie's value under a
deployment secret (``instance_secrets``): the session cookie once signed in, before that
a random sign-in cookie; a page from another site can neither read the cookie nor compute
the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backupjobs.api.context import app_context
from backupjobs.api.ratelimit import Policy
from backupjobs.auth.sessions import session_user
from backupjobs.auth.users import User
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from backupjobs.store.instance import instance_secret

PATH = "/dashboard"
SESSION_COOKIE = "bj_session"
SIGN_IN_COOKIE = "bj_signin"
CSRF_FIELD = "csrf"
#: The key of the application's state holding the :class:`Dashboard`.
STATE_KEY = "dashboard"
CSRF_SECRET = "dashboard-csrf"  # noqa: S105 - the name of an instance secret
SIGN_IN_ACCOUNT_POLICY = "signin-account"
SIGN_IN_ADDRESS_POLICY = "signin-address"

#: Scripts, styles, images and connections from this origin only; never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
    "object-src 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)

Form = dict[str, str]


@dataclass(slots=True)
class Dashboard:
    """The dashboard's part of the application: its CSRF key and sign-in limits."""

    secure_cookies: bool
    sign_in_account: Policy
    sign_in_address: Policy
    csrf_key: bytes = b""

    @classmethod
    def from_settings(cls, settings: Settings) -> Dashboard:
        window = settings.rate_limit_window
        return cls(
            secure_cookies=settings.public_url.startswith("https://"),
            sign_in_account=Policy(
                SIGN_IN_ACCOUNT_POLICY, settings.rate_limit_signin_account, window
            ),
            sign_in_address=Policy(
                SIGN_IN_ADDRESS_POLICY, settings.rate_limit_signin_address, window
            ),
        )

    async def load(self, db: Database) -> None:
        self.csrf_key = await instance_secret(db, CSRF_SECRET)

    def csrf_token(self, cookie_value: str) -> str:
        digest = hmac.new(self.csrf_key, b"csrf\0" + cookie_value.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()

    def csrf_matches(self, cookie_value: str | None, token: str | None) -> bool:
        if not cookie_value or not token:
            return False
        return hmac.compare_digest(self.csrf_token(cookie_value), token)

    def cookie(self, name: str, value: str, *, max_age: int | None = None) -> Cookie:
        """A cookie of the dashboard: HttpOnly, SameSite=Lax, Secure behind HTTPS."""
        return Cookie(
            key=name,
            value=value,
            path=PATH,
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
            max_age=max_age,
        )

    def expired(self, name: str) -> Cookie:
        return self.cookie(name, "", max_age=0)


def dashboard_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Dashboard:
    found: Dashboard = connection.app.state[STATE_KEY]
    return found


class SignInRequired(Exception):
    """No one is signed in (or the session is over): go to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PasswordChangeRequired(Exception):
    """The user signed in with a one-time password: it must choose its own first."""


class PageError(HTTPException):
    """An answer that is a page saying what went wrong (404, 400, 403, 429)."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.message = message


def now() -> datetime:
    return datetime.now(UTC)


def session_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.cookies.get(SESSION_COOKIE) or None


async def current_user(request: Request[Any, Any, Any]) -> User:
    """The signed-in user (the ``user`` dependency); else :class:`SignInRequired`."""
    token = session_token(request)
    user = None
    if token is not None:
        user = await session_user(app_context(request).db, token, now=now())
    if user is None:
        path = request.url.path
        raise SignInRequired(path if request.method == "GET" else PATH)
    if user.must_change_password and request.url.path != f"{PATH}/account/password":
        raise PasswordChangeRequired
    return user


async def checked_form(request: Request[Any, Any, Any]) -> Form:
    """The posted form (the ``form`` dependency), if it carries this browser's CSRF token;
    else a 403 page."""
    raw = await request.form()
    form = {key: value for key, value in raw.items() if isinstance(value, str)}
    cookie = request.cookies.get(SESSION_COOKIE) or request.cookies.get(SIGN_IN_COOKIE)
    if not dashboard_of(request).csrf_matches(cookie, form.get(CSRF_FIELD)):
        raise PageError(
            403,
            "This form was refused: it did not carry this browser's security token "
            "(it may be older than your session). Open the page again and resend it.",
        )
    return form


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a dashboard path of this site, else the overview."""
    if (
        path
        and path.startswith(PATH)
        and not path.startswith("//")
        and "\\" not in path
        and "\n" not in path
    ):
        return path
    return PATH


def sign_in_url(next_path: str) -> str:
    if next_path == PATH:
        return f"{PATH}/sign-in"
    return f"{PATH}/sign-in?next={quote(next_path, safe='/')}"


def security_headers(app: ASGIApp) -> ASGIApp:
    """Middleware: every dashboard answer gets :data:`SECURITY_HEADERS`; pages are not
    kept by caches (a signed-in page must not outlive its session in a shared cache)."""

    async def with_headers(scope: Scope, receive: Receive, send: Send) -> None:
        is_asset = scope["path"].startswith(f"{PATH}/static/")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if not is_asset and not any(name == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await app(scope, receive, sending)

    return with_headers
