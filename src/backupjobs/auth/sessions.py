"""Dashboard sessions: kept in the database, so that they survive a restart, every process
shares them and ending one (sign-out, a disabled user, a new password) takes effect at once.

>>> # token = await start_session(db, user, now=now)       # the cookie's value
>>> # found = await session_user(db, token, now=now)      # None once it is over

The database holds the SHA-256 of the token (256 random bits), never the token: a copy of
the database signs nobody in. A session ends after :data:`IDLE_LIMIT` without a request;
requests move its last-seen time forward at most once per :data:`TOUCH_EVERY`, so a page
and its polling do not write on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from backupjobs.auth.users import USER_COLUMNS, User, user_of
from backupjobs.store.database import Database
from backupjobs.store.schema import dashboard_sessions, dashboard_users

IDLE_LIMIT = timedelta(hours=8)
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


async def start_session(db: Database, user: User, *, now: datetime) -> str:
    """A new session of ``user``; the token for its cookie. Sessions over their idle
    limit go at the same time."""
    token = secrets.token_urlsafe(32)
    async with db.write() as connection:
        await connection.execute(
            delete(dashboard_sessions).where(dashboard_sessions.c.last_seen_at < now - IDLE_LIMIT)
        )
        await connection.execute(
            dashboard_sessions.insert().values(
                partner_id=user.partner_id,
                user_id=user.id,
                token_hash=token_hash(token),
                created_at=now,
                last_seen_at=now,
            )
        )
    return token


async def session_user(db: Database, token: str, *, now: datetime) -> User | None:
    """The user signed in with ``token``; None if the session is over or unknown, or the
    user is disabled."""
    digest = token_hash(token)
    async with db.read() as connection:
        row = (
            await connection.execute(
                select(*USER_COLUMNS, dashboard_sessions.c.last_seen_at)
                .join(
                    dashboard_users,
                    (dashboard_users.c.partner_id == dashboard_sessions.c.partner_id)
                    & (dashboard_users.c.id == dashboard_sessions.c.user_id),
                )
                .where(dashboard_sessions.c.token_hash == digest)
            )
        ).first()
    if row is None or row.disabled_at is not None or row.last_seen_at <= now - IDLE_LIMIT:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        async with db.write() as connection:
            await connection.execute(
                update(dashboard_sessions)
                .where(dashboard_sessions.c.token_hash == digest)
                .values(last_seen_at=now)
            )
    return user_of(row._mapping)


async def end_session(db: Database, token: str) -> None:
    """Sign out: the session is over for every process."""
    async with db.write() as connection:
        await connection.execute(
            delete(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash(token))
        )
