"""Sign-in, sessions, CSRF and throttling of the dashboard, over HTTP in-process."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import httpx
from litestar import Litestar
from sqlalchemy import select, update

from backupjobs.api import build_application
from backupjobs.auth import users
from backupjobs.auth.sessions import IDLE_LIMIT, token_hash
from backupjobs.auth.users import Role
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from backupjobs.store.schema import dashboard_sessions, dashboard_users
from backupjobs.web import DashboardPlugin
from backupjobs.web.session import CONTENT_SECURITY_POLICY, SESSION_COOKIE
from tests.web.accounts import PASSWORD, csrf_of, make_account, sign_in, signed_in
from tests.web.conftest import SIGN_IN_PER_ACCOUNT
from tests.world import make_tenant, now


async def test_a_page_asks_for_sign_in_and_returns_to_it_after(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    account = await make_account(dashboard_db, tenant.partner_id)

    answer = await browser_like.get("/dashboard/account")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/sign-in?next=/dashboard/account"

    await signed_in(browser_like, account)
    again = await sign_in(browser_like, account.email, PASSWORD, next_path="/dashboard/account")
    assert again.headers["location"] == "/dashboard/account"
    page = await browser_like.get("/dashboard/account")
    assert page.status_code == 200
    assert account.email in page.text


async def test_the_one_time_password_must_be_changed_before_anything_else(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    account = await make_account(dashboard_db, tenant.partner_id)

    first = await sign_in(browser_like, account.email, account.one_time_password)
    assert first.headers["location"] == "/dashboard/account/password"
    blocked = await browser_like.get("/dashboard/account")
    assert blocked.headers["location"] == "/dashboard/account/password"

    form = await browser_like.get("/dashboard/account/password")
    short = await browser_like.post(
        "/dashboard/account/password",
        data={
            "csrf": csrf_of(form.text),
            "current_password": account.one_time_password,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert short.status_code == 400
    assert "at least 12 characters" in short.text

    await signed_in(browser_like, account)
    assert (await browser_like.get("/dashboard/account")).status_code == 200
    # The one-time password no longer signs in.
    refused = await sign_in(httpx_copy(browser_like), account.email, account.one_time_password)
    assert refused.status_code == 400


def httpx_copy(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser on the same server (no cookies)."""
    return httpx.AsyncClient(transport=client._transport, base_url=client.base_url)


async def test_wrong_password_unknown_address_and_disabled_user_get_the_same_answer(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    account = await make_account(dashboard_db, tenant.partner_id)
    await signed_in(browser_like, account)
    async with dashboard_db.write() as connection:
        await users.disable_user(connection, tenant.partner_id, account.email, now=now())

    # Disabling ended the session at once.
    ended = await browser_like.get("/dashboard/account")
    assert ended.status_code == 303

    answers = [
        await sign_in(httpx_copy(browser_like), email, password)
        for email, password in (
            (account.email, PASSWORD),
            (account.email, "not the password at all"),
            (f"nobody-{uuid4().hex}@msp.example", PASSWORD),
        )
    ]
    assert {answer.status_code for answer in answers} == {400}
    assert all("Wrong email or password." in answer.text for answer in answers)


async def test_sign_out_ends_the_session_for_every_process(
    browser_like: httpx.AsyncClient, dashboard_db: Database, dashboard_settings: Settings
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    account = await make_account(dashboard_db, tenant.partner_id)
    await signed_in(browser_like, account)
    cookie = browser_like.cookies[SESSION_COOKIE]

    # A second application on the same database (another process) knows the session.
    other = build_application(dashboard_settings, plugins=[DashboardPlugin()])
    async with (
        other.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other), base_url=browser_like.base_url
        ) as elsewhere,
    ):
        elsewhere.cookies.set(SESSION_COOKIE, cookie, path="/dashboard")
        assert (await elsewhere.get("/dashboard/account")).status_code == 200

        account_page = await browser_like.get("/dashboard/account")
        out = await browser_like.post(
            "/dashboard/sign-out", data={"csrf": csrf_of(account_page.text)}
        )
        assert out.status_code == 303
        assert out.headers["location"] == "/dashboard/sign-in"
        assert (await elsewhere.get("/dashboard/account")).status_code == 303


async def test_the_database_holds_a_hash_of_the_session_token_and_an_argon2id_password_hash(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    account = await make_account(dashboard_db, tenant.partner_id)
    await signed_in(browser_like, account)
    token = browser_like.cookies[SESSION_COOKIE]
    async with dashboard_db.read() as connection:
        stored = (
            (
                await connection.execute(
                    select(dashboard_sessions.c.token_hash)
                    .join(dashboard_users, dashboard_users.c.id == dashboard_sessions.c.user_id)
                    .where(dashboard_users.c.email == account.email)
                )
            )
            .scalars()
            .all()
        )
        password_hash = await connection.scalar(
            select(dashboard_users.c.password_hash).where(dashboard_users.c.email == account.email)
        )
    assert stored == [token_hash(token)]
    assert token.encode() not in stored[0]
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash


async def test_a_session_idle_for_eight_hours_is_over(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    account = await make_account(dashboard_db, tenant.partner_id)
    await signed_in(browser_like, account)
    digest = token_hash(browser_like.cookies[SESSION_COOKIE])

    async def idle_for(duration: timedelta) -> None:
        async with dashboard_db.write() as connection:
            await connection.execute(
                update(dashboard_sessions)
                .where(dashboard_sessions.c.token_hash == digest)
                .values(last_seen_at=now() - duration)
            )

    await idle_for(IDLE_LIMIT - timedelta(minutes=5))
    assert (await browser_like.get("/dashboard/account")).status_code == 200
    # That request moved the last-seen time forward: the session goes on.
    async with dashboard_db.read() as connection:
        seen = await connection.scalar(
            select(dashboard_sessions.c.last_seen_at).where(
                dashboard_sessions.c.token_hash == digest
            )
        )
    assert now() - seen < timedelta(minutes=1)

    await idle_for(IDLE_LIMIT + timedelta(seconds=1))
    assert (await browser_like.get("/dashboard/account")).status_code == 303


async def test_a_form_without_the_csrf_token_is_refused(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    account = await make_account(dashboard_db, tenant.partner_id)
    await signed_in(browser_like, account)
    page = await browser_like.get("/dashboard/account")
    token = csrf_of(page.text)

    for form in ({}, {"csrf": ""}, {"csrf": token[:-2] + "xx"}):
        refused = await browser_like.post("/dashboard/sign-out", data=form)
        assert refused.status_code == 403
        assert "security token" in refused.text
    # Still signed in: none of them did anything.
    assert (await browser_like.get("/dashboard/account")).status_code == 200

    # Another browser's token does not fit this browser's cookie.
    stranger = httpx_copy(browser_like)
    stranger_page = await stranger.get("/dashboard/sign-in")
    refused = await browser_like.post(
        "/dashboard/sign-out", data={"csrf": csrf_of(stranger_page.text)}
    )
    assert refused.status_code == 403

    # The sign-in form is protected too (login CSRF).
    forged = await httpx_copy(browser_like).post(
        "/dashboard/sign-in", data={"email": account.email, "password": PASSWORD}
    )
    assert forged.status_code == 403


def test_every_route_that_changes_something_checks_the_csrf_token(
    dashboard_app: Litestar,
) -> None:
    for route in dashboard_app.routes:
        if not route.path.startswith("/dashboard"):
            continue
        for handler in getattr(route, "route_handlers", []):
            if handler.http_methods - {"GET", "HEAD", "OPTIONS"}:
                assert "form" in handler.resolve_dependencies(), (route.path, handler)


async def test_sign_in_is_throttled_per_account(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    account = await make_account(dashboard_db, tenant.partner_id)
    answers = [
        await sign_in(browser_like, account.email, f"guess number {attempt}")
        for attempt in range(SIGN_IN_PER_ACCOUNT)
    ]
    assert {answer.status_code for answer in answers} == {400}
    # Over the quota even the right password is refused, with when to come back.
    limited = await sign_in(browser_like, account.email.upper(), account.one_time_password)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "Too many sign-in attempts" in limited.text
    # Another account from the same address is not affected.
    other = await make_account(dashboard_db, tenant.partner_id)
    assert (await sign_in(browser_like, other.email, other.one_time_password)).status_code == 303


async def test_sign_in_is_throttled_per_address(tmp_path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'throttle.db'}",
        public_url="http://testserver.local",
        rate_limit_signin_address=3,
    )
    application = build_application(settings, plugins=[DashboardPlugin()])
    async with (
        application.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url=settings.public_url
        ) as client,
    ):
        statuses = [
            (await sign_in(client, f"user{n}@msp.example", "whatever it is")).status_code
            for n in range(4)
        ]
    assert statuses == [400, 400, 400, 429]


async def test_cookies_are_httponly_lax_and_secure_behind_https(tmp_path) -> None:
    for public_url, secure in (("http://127.0.0.1:8000", False), ("https://bj.example", True)):
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'cookies.db'}", public_url=public_url
        )
        application = build_application(settings, plugins=[DashboardPlugin()])
        async with (
            application.lifespan(),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application), base_url=public_url
            ) as client,
        ):
            answer = await client.get("/dashboard/sign-in")
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/dashboard" in cookie
        assert ("Secure" in cookie) is secure


async def test_every_answer_carries_the_content_security_policy(
    browser_like: httpx.AsyncClient,
) -> None:
    for path in ("/dashboard/sign-in", "/dashboard/account", "/dashboard/no-such-page"):
        answer = await browser_like.get(path)
        if path.endswith("no-such-page"):
            assert answer.status_code in {303, 404}
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
    page = await browser_like.get("/dashboard/sign-in")
    assert "<script>" not in page.text
    assert " on" + "click=" not in page.text


async def test_next_never_leaves_the_dashboard(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    account = await make_account(dashboard_db, tenant.partner_id, Role.ADMIN)
    await signed_in(browser_like, account)
    for elsewhere in ("https://evil.example/", "//evil.example/dashboard", "/docs"):
        answer = await sign_in(browser_like, account.email, PASSWORD, next_path=elsewhere)
        assert answer.headers["location"] == "/dashboard"
