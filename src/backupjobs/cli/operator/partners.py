"""``backupjobs partners``: partners (MSPs)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from backupjobs.cli.common import (
    JsonFlag,
    console,
    id_column,
    isoformat,
    listed_plainly,
    minute_text,
    now,
    parse_uuid,
    reading,
    said,
    writing,
)
from backupjobs.store import directory
from backupjobs.store.directory import PartnerInfo

group = typer.Typer(help="Partners (MSPs).", no_args_is_help=True)


@group.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="The partner's name.")],
    as_json: JsonFlag = False,
) -> None:
    """Create a partner."""
    created = writing(lambda connection: directory.create_partner(connection, name, now=now()))
    partner_id = str(created)
    said(
        as_json,
        {"id": partner_id, "name": name.strip()},
        f"Created partner [bold]{name.strip()}[/bold]: {partner_id}",
    )


def _partner_json(partner: PartnerInfo) -> dict[str, Any]:
    return {
        "id": str(partner.id),
        "name": partner.name,
        "createdAt": isoformat(partner.created_at),
        "customers": partner.customers,
        "apps": partner.apps,
    }


@group.command("list")
def list_partners(as_json: JsonFlag = False) -> None:
    """Partners, by name, with how many customers and apps each has."""

    found = reading(directory.list_partners)
    if listed_plainly(found, as_json, "partners", _partner_json, "No partners."):
        return
    table = Table("name", id_column("id"), "customers", "apps", "created", box=None)
    for partner in found:
        table.add_row(
            Text(partner.name),
            str(partner.id),
            str(partner.customers),
            str(partner.apps),
            minute_text(partner.created_at),
        )
    console.print(table)


@group.command("rename")
def rename(
    partner: Annotated[str, typer.Option("--id", help="The partner's id.")],
    name: Annotated[str, typer.Option("--name", help="The new name.")],
    as_json: JsonFlag = False,
) -> None:
    """Rename a partner."""
    partner_id = parse_uuid(partner, "--id")

    previous = writing(lambda connection: directory.rename_partner(connection, partner_id, name))
    said(
        as_json,
        {"id": str(partner_id), "name": name.strip(), "previousName": previous},
        f"Renamed partner {partner_id}: {previous!r} -> {name.strip()!r}",
        markup=False,
    )
