"""Dashboard users: a partner's staff, who sign in with an email and a password.

>>> # made = await create_user(connection, partner_id, "ops@msp.example", Role.VIEWER, now=now)
>>> # made.password     # the one-time password, shown once; changed at the first sign-in

Passwords are hashed with Argon2id (``argon2-cffi``'s defaults, RFC 9106's second
recommended set); hashing takes tens of milliseconds on purpose, so callers on an event
loop run :func:`verify_password` and :func:`hash_password` in a thread. An email names one
user in the deployment, matched without regard to case.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.store import directory
from backupjobs.store.schema import dashboard_sessions, dashboard_users

#: Shortest password a user may choose.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
_HASHER = PasswordHasher()
# Verified when no user has the email, so that an unknown address costs the same time.
_ABSENT_USER_HASH = _HASHER.hash(secrets.token_urlsafe(16))
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Role(StrEnum):
    VIEWER = "viewer"
    ADMIN = "admin"


class UserError(ValueError):
    """A request about users that cannot be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class User:
    id: UUID
    partner_id: UUID
    email: str
    role: Role
    must_change_password: bool
    disabled_at: datetime | None
    created_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True, slots=True)
class IssuedPassword:
    """A user and the one-time password just set for it (shown once)."""

    user: User
    password: str


def normalise_email(email: str) -> str:
    """``email`` trimmed and lower-cased; :class:`UserError` if it is no address."""
    cleaned = email.strip().lower()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned):
        raise UserError(f"not an email address: {email!r}")
    return cleaned


def parse_role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        valid = " or ".join(r.value for r in Role)
        raise UserError(f"unknown role {role!r}: use {valid}") from None


def one_time_password() -> str:
    """A random password of 20 URL-safe characters (120 bits)."""
    return secrets.token_urlsafe(15)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (None: no such user, still slow)."""
    try:
        return _HASHER.verify(password_hash or _ABSENT_USER_HASH, password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def check_new_password(password: str, *, email: str) -> None:
    """:class:`UserError` naming what is wrong with a password a user chose."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"A password has at most {MAX_PASSWORD_LENGTH} characters.")
    if password.strip().lower() == email:
        raise UserError("A password must not be the email address.")


#: The columns :func:`user_of` reads a :class:`User` from.
USER_COLUMNS = (
    dashboard_users.c.id,
    dashboard_users.c.partner_id,
    dashboard_users.c.email,
    dashboard_users.c.role,
    dashboard_users.c.must_change_password,
    dashboard_users.c.disabled_at,
    dashboard_users.c.created_at,
)


def user_of(mapping: RowMapping) -> User:
    """A user from a row holding the user's columns."""
    return User(
        id=mapping["id"],
        partner_id=mapping["partner_id"],
        email=mapping["email"],
        role=Role(mapping["role"]),
        must_change_password=bool(mapping["must_change_password"]),
        disabled_at=mapping["disabled_at"],
        created_at=mapping["created_at"],
    )


async def create_user(
    connection: AsyncConnection, partner_id: UUID, email: str, role: Role, *, now: datetime
) -> IssuedPassword:
    """A new user of ``partner_id`` with a one-time password."""
    address = normalise_email(email)
    await directory.require_partner(connection, partner_id)
    taken = await connection.scalar(
        select(dashboard_users.c.id).where(dashboard_users.c.email == address)
    )
    if taken is not None:
        raise UserError(f"a dashboard user with the email {address} exists already")
    password = one_time_password()
    user = User(uuid4(), partner_id, address, role, True, None, now)
    try:
        async with connection.begin_nested():
            await connection.execute(
                dashboard_users.insert().values(
                    partner_id=partner_id,
                    id=user.id,
                    email=address,
                    role=role.value,
                    password_hash=hash_password(password),
                    must_change_password=True,
                    created_at=now,
                )
            )
    except IntegrityError:  # another command took the address meanwhile
        raise UserError(f"a dashboard user with the email {address} exists already") from None
    return IssuedPassword(user, password)


async def list_users(connection: AsyncConnection, partner_id: UUID) -> list[User]:
    """The partner's users, by email."""
    await directory.require_partner(connection, partner_id)
    rows = await connection.execute(
        select(*USER_COLUMNS)
        .where(dashboard_users.c.partner_id == partner_id)
        .order_by(dashboard_users.c.email)
    )
    return [user_of(row._mapping) for row in rows]


async def find_user(
    connection: AsyncConnection, email: str
) -> tuple[User, str] | tuple[None, None]:
    """The user with ``email`` and its password hash, or ``(None, None)``."""
    try:
        address = normalise_email(email)
    except UserError:
        return None, None
    row = (
        await connection.execute(
            select(*USER_COLUMNS, dashboard_users.c.password_hash).where(
                dashboard_users.c.email == address
            )
        )
    ).first()
    if row is None:
        return None, None
    return user_of(row._mapping), row.password_hash


async def _require_user(connection: AsyncConnection, partner_id: UUID, email: str) -> User:
    address = normalise_email(email)
    row = (
        await connection.execute(
            select(*USER_COLUMNS).where(
                dashboard_users.c.partner_id == partner_id, dashboard_users.c.email == address
            )
        )
    ).first()
    if row is None:
        raise UserError(f"partner {partner_id} has no dashboard user {address}")
    return user_of(row._mapping)


async def end_sessions(connection: AsyncConnection, user: User) -> int:
    """Sign ``user`` out everywhere; the number of sessions ended."""
    result = await connection.execute(
        delete(dashboard_sessions).where(
            dashboard_sessions.c.partner_id == user.partner_id,
            dashboard_sessions.c.user_id == user.id,
        )
    )
    return int(result.rowcount or 0)


async def disable_user(
    connection: AsyncConnection, partner_id: UUID, email: str, *, now: datetime
) -> User:
    """Disable the user (it can no longer sign in) and end its sessions."""
    user = await _require_user(connection, partner_id, email)
    if user.disabled_at is None:
        await connection.execute(
            update(dashboard_users)
            .where(dashboard_users.c.partner_id == partner_id, dashboard_users.c.id == user.id)
            .values(disabled_at=now)
        )
    await end_sessions(connection, user)
    return await _require_user(connection, partner_id, email)


async def reset_password(
    connection: AsyncConnection, partner_id: UUID, email: str
) -> IssuedPassword:
    """A new one-time password for the user (enabled again if it was disabled); its
    sessions end."""
    user = await _require_user(connection, partner_id, email)
    password = one_time_password()
    await set_password(connection, user, hash_password(password), must_change=True)
    await connection.execute(
        update(dashboard_users)
        .where(dashboard_users.c.partner_id == partner_id, dashboard_users.c.id == user.id)
        .values(disabled_at=None)
    )
    return IssuedPassword(await _require_user(connection, partner_id, email), password)


async def set_password(
    connection: AsyncConnection, user: User, password_hash: str, *, must_change: bool
) -> None:
    """Store a password's hash (:func:`hash_password`) for ``user`` and end all of its
    sessions."""
    await connection.execute(
        update(dashboard_users)
        .where(dashboard_users.c.partner_id == user.partner_id, dashboard_users.c.id == user.id)
        .values(password_hash=password_hash, must_change_password=must_change)
    )
    await end_sessions(connection, user)
