"""Secrets of this deployment, shared by its processes through the database.

>>> # key = await instance_secret(db, CURSOR_KEY)   # the same bytes in every process

The first process to ask makes the secret (random bytes) and every later one reads it,
whichever wins a race: the insert does nothing when the name exists.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select

from backupjobs.store.bulk import dialect_insert
from backupjobs.store.database import Database
from backupjobs.store.schema import instance_secrets

#: The key cursors are signed with (``infra.cursors``).
CURSOR_KEY = "cursors"
SECRET_BYTES = 32


async def instance_secret(db: Database, name: str) -> bytes:
    """The secret called ``name``, made now if no process has made it yet."""
    async with db.write() as connection:
        await connection.execute(
            dialect_insert(connection, instance_secrets)
            .values(
                name=name, secret=secrets.token_bytes(SECRET_BYTES), created_at=datetime.now(UTC)
            )
            .on_conflict_do_nothing()
        )
        secret = await connection.scalar(
            select(instance_secrets.c.secret).where(instance_secrets.c.name == name)
        )
    assert isinstance(secret, bytes)  # inserted above if it was not there
    return secret
