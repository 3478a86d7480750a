"""A database of its own for tests that change shared state (the signing keys)."""

from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import pytest

from backupjobs.store.database import Database
from tests.services import create_postgres_database, drop_postgres_database


@pytest.fixture
async def fresh_db(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty, migrated database of the session's kind (SQLite or PostgreSQL)."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        url = await anyio.to_thread.run_sync(create_postgres_database)
    db = Database(url, pool_size=2)
    await db.migrate()
    try:
        yield db
    finally:
        await db.dispose()
        if not database_url.startswith("sqlite"):
            await anyio.to_thread.run_sync(drop_postgres_database, url)
