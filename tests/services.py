"""The real PostgreSQL and Redis the tests use: found, or skipped with a reason, never mocked.

Under ``CI=true`` a missing server fails the run instead of skipping it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get(
    "BACKUPJOBS_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BACKUPJOBS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def require_server(url: str, default_port: int, what: str) -> None:
    if _reachable(url, default_port):
        return
    message = f"{what} is not reachable at {url} (set BACKUPJOBS_TEST_{what.upper()}_URL)"
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def create_postgres_database() -> str:
    """A new, empty database on the test server; its URL."""
    require_server(POSTGRES_URL, 5432, "PostgreSQL")
    import asyncpg  # noqa: PLC0415

    name = f"backupjobs_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    parts = urlsplit(POSTGRES_URL)
    return parts._replace(path=f"/{name}").geturl()


def drop_postgres_database(url: str) -> None:
    import asyncpg  # noqa: PLC0415

    name = urlsplit(url).path.lstrip("/")

    async def drop() -> None:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())
