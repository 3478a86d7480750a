"""Sign-in, sign-out, the account page and changing one's password.

Sign-in attempts are counted per email address and per client address with the API's
rate-limit machinery (:mod:`backupjobs.api.ratelimit`: Redis when configured, so every
process counts together), whatever their outcome; over either quota the answer is a 429
page with ``Retry-After``. A wrong password, an unknown address and a disabled user get
the same answer, after the same Argon2id work.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from litestar import Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from litestar.response import Redirect

from backupjobs.api.context import app_context
from backupjobs.api.ratelimit import ratelimit_headers
from backupjobs.auth import users
from backupjobs.auth.sessions import end_session, start_session
from backupjobs.auth.users import User, UserError
from backupjobs.web.render import page
from backupjobs.web.session import (
    PATH,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    Form,
    PageError,
    checked_form,
    current_user,
    dashboard_of,
    new_cookie_value,
    now,
    safe_next,
    session_token,
)

FORM = {"form": Provide(checked_form)}
USER = {"user": Provide(current_user)}
WRONG_CREDENTIALS = "Wrong email or password."


@get("/sign-in", name="dashboard:sign-in")
async def sign_in_page(
    request: Request[Any, Any, Any],
    next_path: Annotated[str | None, QueryParameter(name="next", required=False)] = None,
) -> Any:
    """The sign-in form; a browser without a sign-in cookie gets one (its CSRF token)."""
    cookies = []
    fresh = None
    if not request.cookies.get(SIGN_IN_COOKIE):
        fresh = new_cookie_value()
        cookies.append(dashboard_of(request).cookie(SIGN_IN_COOKIE, fresh))
    return page(
        request,
        "sign_in.html.j2",
        user=None,
        cookies=cookies,
        csrf_from=fresh if not request.cookies.get(SESSION_COOKIE) else None,
        next_path=safe_next(next_path),
        email="",
    )


@post("/sign-in", dependencies=FORM, name="dashboard:sign-in-post", status_code=303)
async def sign_in(request: Request[Any, Any, Any], form: NamedDependency[Form]) -> Any:
    email = form.get("email", "").strip()
    password = form.get("password", "")
    next_path = safe_next(form.get("next"))
    context = app_context(request)
    dashboard = dashboard_of(request)
    address = request.client.host if request.client else "unknown"
    usages = []
    for policy, subject in (
        (dashboard.sign_in_address, address),
        (dashboard.sign_in_account, email.lower()),
    ):
        usage = await context.limiter.hit(policy, subject)
        if usage is not None:
            usages.append(usage)
    if any(usage.limited for usage in usages):
        headers = ratelimit_headers(usages)
        raise PageError(
            429,
            "Too many sign-in attempts. Wait "
            f"{headers['Retry-After']} seconds before trying again.",
            headers=headers,
        )
    if not email or not password:
        return _sign_in_refused(request, "Enter your email address and your password.", email)
    async with context.db.read() as connection:
        user, password_hash = await users.find_user(connection, email)
    matches = await anyio.to_thread.run_sync(users.verify_password, password_hash, password)
    if user is None or not matches or user.disabled_at is not None:
        return _sign_in_refused(request, WRONG_CREDENTIALS, email, next_path=next_path)
    token = await start_session(context.db, user, now=now())
    target = f"{PATH}/account/password" if user.must_change_password else next_path
    return Redirect(
        target,
        status_code=303,
        cookies=[
            dashboard.cookie(SESSION_COOKIE, token),
            dashboard.expired(SIGN_IN_COOKIE),
        ],
    )


def _sign_in_refused(
    request: Request[Any, Any, Any], message: str, email: str, *, next_path: str = PATH
) -> Response[Any]:
    return page(
        request,
        "sign_in.html.j2",
        user=None,
        status=400,
        error=message,
        email=email,
        next_path=next_path,
    )


@post("/sign-out", dependencies=FORM, name="dashboard:sign-out", status_code=303)
async def sign_out(request: Request[Any, Any, Any], form: NamedDependency[Form]) -> Redirect:
    """End this browser's session, for every process."""
    del form  # checked: the CSRF token
    token = session_token(request)
    if token is not None:
        await end_session(app_context(request).db, token)
    return Redirect(
        f"{PATH}/sign-in",
        status_code=303,
        cookies=[dashboard_of(request).expired(SESSION_COOKIE)],
    )


@get("/account", dependencies=USER, name="dashboard:account")
async def account(request: Request[Any, Any, Any], user: NamedDependency[User]) -> Response[Any]:
    return page(request, "account.html.j2", user=user)


@get("/account/password", dependencies=USER, name="dashboard:password")
async def password_page(
    request: Request[Any, Any, Any], user: NamedDependency[User]
) -> Response[Any]:
    return page(request, "password.html.j2", user=user, minimum=users.MIN_PASSWORD_LENGTH)


@post(
    "/account/password",
    dependencies={**USER, **FORM},
    name="dashboard:password-post",
    status_code=303,
)
async def change_password(
    request: Request[Any, Any, Any], user: NamedDependency[User], form: NamedDependency[Form]
) -> Any:
    """Check the current password, store the new one (every session of the user ends),
    and sign this browser in again."""
    current = form.get("current_password", "")
    new = form.get("new_password", "")
    context = app_context(request)
    async with context.db.read() as connection:
        _, password_hash = await users.find_user(connection, user.email)
    try:
        if not await anyio.to_thread.run_sync(users.verify_password, password_hash, current):
            raise UserError("The current password is wrong.")
        if new != form.get("confirm_password", ""):
            raise UserError("The new password and its confirmation differ.")
        if new == current:
            raise UserError("Choose a password other than the current one.")
        users.check_new_password(new, email=user.email)
    except UserError as error:
        return page(
            request,
            "password.html.j2",
            user=user,
            status=400,
            error=str(error),
            minimum=users.MIN_PASSWORD_LENGTH,
        )
    new_hash = await anyio.to_thread.run_sync(users.hash_password, new)
    async with context.db.write() as connection:
        await users.set_password(connection, user, new_hash, must_change=False)
    token = await start_session(context.db, user, now=now())
    return Redirect(
        PATH,
        status_code=303,
        cookies=[dashboard_of(request).cookie(SESSION_COOKIE, token)],
    )


ROUTES = [sign_in_page, sign_in, sign_out, account, password_page, change_password]
