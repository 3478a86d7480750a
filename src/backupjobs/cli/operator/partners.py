"""``backupjobs partners``: partners (MSPs)."""

from __future__ import annotations

from typing import Annotated

import typer

from backupjobs.cli.common import JsonFlag, console, emit_json, now, with_database
from backupjobs.store import directory
from backupjobs.store.database import Database

group = typer.Typer(help="Partners (MSPs).", no_args_is_help=True)


@group.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="The partner's name.")],
    as_json: JsonFlag = False,
) -> None:
    """Create a partner."""

    async def work(database: Database) -> str:
        async with database.write() as connection:
            return str(await directory.create_partner(connection, name, now=now()))

    partner_id = with_database(work)
    if as_json:
        emit_json({"id": partner_id, "name": name.strip()})
    else:
        console.print(f"Created partner [bold]{name.strip()}[/bold]: {partner_id}")
