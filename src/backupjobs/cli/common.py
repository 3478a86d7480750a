"""What every command shares: the database, errors on stderr, one JSON object on stdout.

The partner commands use this module too, in an install without the server's packages: the
database is imported only by the functions that use it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console

from backupjobs.catalog import CodeTable, UnknownCodeError
from backupjobs.settings import Settings, SettingsError

if TYPE_CHECKING:
    from backupjobs.store.database import Database

T = TypeVar("T")

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(code)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the errors an operator can cause into a message and exit status 1."""
    from backupjobs.store.database import DatabaseUrlError  # noqa: PLC0415
    from backupjobs.store.directory import ConflictError, NotFoundError  # noqa: PLC0415

    try:
        yield
    except (NotFoundError, ConflictError, ValueError, SettingsError, DatabaseUrlError) as error:
        raise fail(str(error).strip("'\"")) from None


def settings() -> Settings:
    with reported_errors():
        return Settings.from_env()


def with_database(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` on the configured database, created and migrated on first use."""
    from backupjobs.store.database import Database  # noqa: PLC0415

    config = settings()

    async def run() -> T:
        db = Database(config.database_url, pool_size=2)
        try:
            await db.migrate()
            return await work(db)
        finally:
            await db.dispose()

    with reported_errors():
        return asyncio.run(run())


def emit_json(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def parse_uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise fail(f"{what} must be a UUID, not {value!r}", 2) from None


def parse_code(table: CodeTable, value: str) -> int:
    try:
        return table.parse(value).code
    except UnknownCodeError as error:
        raise fail(str(error), 2) from None
