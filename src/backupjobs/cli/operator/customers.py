"""``backupjobs customers``: a partner's customers (tenants)."""

from __future__ import annotations

from typing import Annotated

import typer

from backupjobs.cli.common import JsonFlag, console, emit_json, now, parse_uuid, with_database
from backupjobs.store import directory
from backupjobs.store.database import Database

group = typer.Typer(help="A partner's customers (tenants).", no_args_is_help=True)


@group.command("create")
def create(
    partner: Annotated[str, typer.Option("--partner", help="The partner's id.")],
    name: Annotated[str, typer.Option("--name", help="The customer's name.")],
    customer_id: Annotated[
        str | None, typer.Option("--id", help="The tenant owner id (default: a new UUID).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a customer of a partner."""
    partner_id = parse_uuid(partner, "--partner")
    wanted = parse_uuid(customer_id, "--id") if customer_id else None

    async def work(database: Database) -> str:
        async with database.write() as connection:
            created = await directory.create_customer(
                connection, partner_id, name, customer_id=wanted, now=now()
            )
        return str(created)

    created_id = with_database(work)
    if as_json:
        emit_json({"id": created_id, "partnerId": str(partner_id), "name": name.strip()})
    else:
        console.print(f"Created customer [bold]{name.strip()}[/bold]: {created_id}")
