"""Alembic environment: runs on the connection it is given (see ``upgrade``), or, for
``alembic revision --autogenerate`` during development, on ``BACKUPJOBS_DATABASE_URL``."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from backupjobs.settings import Settings
from backupjobs.store.database import Database
from backupjobs.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    db = Database(Settings.from_env().database_url)
    try:
        async with db.write() as connection:
            await connection.run_sync(_run)
    finally:
        await db.dispose()


_given = context.config.attributes.get("connection")
if _given is not None:
    _run(_given)
else:
    asyncio.run(_run_standalone())
