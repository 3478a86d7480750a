"""``backupjobs db``: the database."""

from __future__ import annotations

import typer

from backupjobs.cli.common import console, with_database
from backupjobs.store.database import Database

group = typer.Typer(help="The database.", no_args_is_help=True)


@group.command("upgrade")
def upgrade() -> None:
    """Create the schema, or upgrade it to this version's."""

    async def work(database: Database) -> str:
        return database.describe()

    console.print(f"Database is up to date: {with_database(work)}")
