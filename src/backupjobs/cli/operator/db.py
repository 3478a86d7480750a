"""``backupjobs db``: the database."""

from __future__ import annotations

import typer
from sqlalchemy import Connection

from backupjobs.cli.common import JsonFlag, console, emit_json, with_database
from backupjobs.store.database import Database

group = typer.Typer(help="The database.", no_args_is_help=True)


def _current_revision(connection: Connection) -> str | None:
    """The schema's migration, None for a database without the schema."""
    from alembic.migration import MigrationContext  # noqa: PLC0415 - alembic is slow to import

    revision: str | None = MigrationContext.configure(connection).get_current_revision()
    return revision


async def _revision(database: Database) -> str | None:
    async with database.read() as connection:
        return await connection.run_sync(_current_revision)


@group.command("upgrade")
def upgrade(as_json: JsonFlag = False) -> None:
    """Create the schema, or upgrade it to this version's, and say which it did."""

    async def work(database: Database) -> tuple[str, str | None, str | None]:
        before = await _revision(database)
        await database.migrate()
        return database.describe(), before, await _revision(database)

    where, before, after = with_database(work, migrate=False)
    action = "created" if before is None else "current" if before == after else "upgraded"
    if as_json:
        emit_json({"database": where, "action": action, "from": before, "to": after})
    elif action == "created":
        console.print(f"Created the schema in {where} (migration {after})", markup=False)
    elif action == "current":
        console.print(f"The schema is up to date in {where} (migration {after})", markup=False)
    else:
        console.print(
            f"Upgraded the schema in {where} from migration {before} to {after}", markup=False
        )
