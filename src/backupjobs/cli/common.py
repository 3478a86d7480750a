"""What every command shares: the database, errors on stderr, one JSON object on stdout,
the ``--json`` and ``--yes`` flags, and how times are written.

The partner commands use this module too, in an install without the server's packages: the
database is imported only by the functions that use it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column

from backupjobs.catalog import CodeTable, UnknownCodeError
from backupjobs.settings import Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from backupjobs.store.database import Database

T = TypeVar("T")

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
YesFlag = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (for scripts).")
]


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {escape(message)}", highlight=False, markup=True)
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


def with_database(work: Callable[[Database], Awaitable[T]], *, migrate: bool = True) -> T:
    """Run ``work`` on the configured database, created and migrated on first use (unless
    ``migrate`` is False: ``work`` migrates it itself)."""
    from backupjobs.store.database import Database  # noqa: PLC0415

    config = settings()

    async def run() -> T:
        db = Database(config.database_url, pool_size=2)
        try:
            if migrate:
                await db.migrate()
            return await work(db)
        finally:
            await db.dispose()

    with reported_errors():
        return asyncio.run(run())


def reading(work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``work`` in one read transaction of the configured database: most commands that show
    something are ``found = reading(directory.list_partners)``."""

    async def read(database: Database) -> T:
        async with database.read() as connection:
            return await work(connection)

    return with_database(read)


def writing(work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``work`` in one write transaction of the configured database (committed if it
    returns, rolled back if it raises)."""

    async def write(database: Database) -> T:
        async with database.write() as connection:
            return await work(connection)

    return with_database(write)


def said(as_json: bool, answer: dict[str, Any], text: str, *, markup: bool = True) -> None:
    """What a command did: ``answer``, one JSON object, with ``--json``; else ``text`` for
    people (rich markup unless ``markup`` is False: text that holds names given)."""
    if as_json:
        emit_json(answer)
    else:
        console.print(text, markup=markup)


def listed_plainly(
    found: Sequence[T],
    as_json: bool,
    key: str,
    as_object: Callable[[T], dict[str, Any]],
    nothing: str,
) -> bool:
    """A list command's output when it is not a table: with ``--json``, one object
    ``{key: [as_object(item), ...]}``; else, when ``found`` is empty, ``nothing``. True if
    printed so; False leaves the table to the caller::

        if listed_plainly(found, as_json, "partners", _partner_json, "No partners."):
            return
    """
    if as_json:
        emit_json({key: [as_object(item) for item in found]})
        return True
    if not found:
        console.print(nothing)
        return True
    return False


def confirm(question: str, yes: bool) -> None:
    """Ask ``question`` on the terminal (stderr, so that ``--json`` output stays one object)
    unless ``--yes`` was given; anything but yes is exit status 1, nothing done."""
    if yes:
        return
    try:
        agreed = typer.confirm(question, default=False, err=True)
    except typer.Abort:  # no answer: stdin closed, as in a script without --yes
        agreed = False
    if not agreed:
        raise fail("nothing was removed (answer y, or give --yes)")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 job``, ``3 jobs``; ``nouns`` where the plural is not ``noun`` + s."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


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


def id_column(header: str) -> Column:
    """A table column for ids: never cut or wrapped, so that they copy whole."""
    return Column(header, no_wrap=True, min_width=36)


def now() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime | None) -> str | None:
    """A time for ``--json`` output: ISO 8601 with its offset, or None."""
    return None if moment is None else moment.isoformat()


def minute_text(moment: datetime | None) -> str:
    """A time for people: ``2025-09-11 03:21Z``, or ``never``."""
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M}Z"


def program(argv0: str | None = None) -> str:
    """How to run this program again as printed, in this folder: ``backupjobs`` when that
    name on the PATH is this program; otherwise the path it was started by as typed
    (``.venv/bin/backupjobs`` before the virtual environment is activated), or
    ``python -m backupjobs`` with this interpreter."""
    started = Path(sys.argv[0] if argv0 is None else argv0)
    if started.name == "__main__.py":  # python -m backupjobs
        return f"{shlex.quote(_relative(Path(sys.executable)))} -m backupjobs"
    on_path = shutil.which("backupjobs")
    if on_path is not None and Path(on_path).resolve() == started.resolve():
        return "backupjobs"
    return shlex.quote(str(started) if not started.is_absolute() else _relative(started))


def _relative(path: Path) -> str:
    """``path`` from the working folder if it is inside it (``.venv/bin/python``)."""
    try:
        inside = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return str(inside) if os.sep in str(inside) else f".{os.sep}{inside}"
