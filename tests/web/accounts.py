"""Dashboard users for tests, and a browser-like HTTP client that signs in with one."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from uuid import UUID

import httpx

from backupjobs.auth import users
from backupjobs.auth.users import Role
from backupjobs.store.database import Database
from tests.world import now

PASSWORD = "a long chosen passphrase"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class Account:
    partner_id: UUID
    email: str
    #: The one-time password the operator was given.
    one_time_password: str
    role: Role


async def make_account(db: Database, partner_id: UUID, role: Role = Role.VIEWER) -> Account:
    email = f"staff-{uuid.uuid4().hex[:10]}@msp.example"
    async with db.write() as connection:
        issued = await users.create_user(connection, partner_id, email, role, now=now())
    return Account(partner_id, email, issued.password, role)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, html[:500]
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str, *, next_path: str = "/dashboard"
) -> httpx.Response:
    """Open the sign-in page and post the form, as a browser does."""
    form_page = await client.get("/dashboard/sign-in")
    return await client.post(
        "/dashboard/sign-in",
        data={
            "csrf": csrf_of(form_page.text),
            "email": email,
            "password": password,
            "next": next_path,
        },
    )


async def signed_in(client: httpx.AsyncClient, account: Account) -> httpx.AsyncClient:
    """``client`` signed in as ``account``, its one-time password changed to
    :data:`PASSWORD` on first use."""
    answer = await sign_in(client, account.email, PASSWORD)
    if answer.status_code == 400:  # first sign-in: the one-time password, then a new one
        answer = await sign_in(client, account.email, account.one_time_password)
        assert answer.headers["location"] == "/dashboard/account/password"
        form_page = await client.get("/dashboard/account/password")
        answer = await client.post(
            "/dashboard/account/password",
            data={
                "csrf": csrf_of(form_page.text),
                "current_password": account.one_time_password,
                "new_password": PASSWORD,
                "confirm_password": PASSWORD,
            },
        )
    assert answer.status_code == 303, answer.text
    return client
