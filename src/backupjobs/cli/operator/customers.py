"""``backupjobs customers``: a partner's customers (tenants)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from backupjobs.cli.common import (
    JsonFlag,
    YesFlag,
    confirm,
    console,
    emit_json,
    errors,
    fail,
    id_column,
    isoformat,
    minute_text,
    now,
    parse_uuid,
    plural,
    with_database,
)
from backupjobs.store import directory
from backupjobs.store.database import Database
from backupjobs.store.directory import CustomerChanges, CustomerInfo, CustomerRemoval

group = typer.Typer(help="A partner's customers (tenants).", no_args_is_help=True)
IdOption = Annotated[str, typer.Option("--id", help="The customer's id (tenant owner id).")]


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


def _customer_json(customer: CustomerInfo) -> dict[str, Any]:
    return {
        "id": str(customer.id),
        "partnerId": str(customer.partner_id),
        "name": customer.name,
        "createdAt": isoformat(customer.created_at),
        "services": customer.services,
        "disabledServices": customer.disabled_services,
    }


@group.command("list")
def list_customers(
    partner: Annotated[
        str | None, typer.Option("--partner", help="Only this partner's customers (its id).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Customers, by partner then name, with how many backup services each has."""
    partner_id = parse_uuid(partner, "--partner") if partner else None

    async def work(database: Database) -> list[CustomerInfo]:
        async with database.read() as connection:
            return await directory.list_customers(connection, partner_id=partner_id)

    found = with_database(work)
    if as_json:
        emit_json({"customers": [_customer_json(customer) for customer in found]})
        return
    if not found:
        console.print("No customers.")
        return
    table = Table("name", id_column("id"), id_column("partner"), "services", "created", box=None)
    for customer in found:
        services = str(customer.services)
        if customer.disabled_services:
            services += f" (+{customer.disabled_services} disabled)"
        table.add_row(
            Text(customer.name),
            str(customer.id),
            str(customer.partner_id),
            services,
            minute_text(customer.created_at),
        )
    console.print(table)


@group.command("update")
def update(
    customer_id: IdOption,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a customer's fields; those not given stay as they are."""
    wanted = parse_uuid(customer_id, "--id")
    # A new field: an option above, and its value here (see directory.CustomerChanges).
    changes = CustomerChanges(name=name)
    try:
        if not changes.values():
            raise fail("nothing to change: give --name", 2)
    except ValueError as error:
        raise fail(str(error), 2) from None

    async def work(database: Database) -> tuple[CustomerInfo, CustomerInfo]:
        async with database.write() as connection:
            return await directory.update_customer(connection, wanted, changes)

    before, after = with_database(work)
    changed = CustomerChanges.differences(before, after)
    if as_json:
        emit_json(
            {
                **_customer_json(after),
                "changed": {
                    field: {"from": old, "to": new} for field, (old, new) in changed.items()
                },
            }
        )
        return
    if not changed:
        console.print(f"Customer {after.id} unchanged", highlight=False)
    for field, (old, new) in changed.items():
        console.print(f"Customer {after.id}: {field} {old!r} -> {new!r}", markup=False)


def _removal_text(removal: CustomerRemoval) -> str:
    return (
        f"customer {removal.customer.name!r} ({removal.customer.id}) with "
        f"{plural(removal.services, 'backup service')}, {plural(removal.jobs, 'job')} of "
        "history and "
        f"{plural(removal.app_scope_entries, 'app scope entry', 'app scope entries')}"
    )


@group.command("delete")
def delete(customer_id: IdOption, yes: YesFlag = False, as_json: JsonFlag = False) -> None:
    """Offboard a customer with its services, jobs and app scope entries (asks unless --yes).

    Its backup services, their job history and its entries in apps' customer scopes go
    with it, in one transaction. An app limited to this customer alone is kept and named:
    it then sees no customer.
    """
    wanted = parse_uuid(customer_id, "--id")

    async def preview(database: Database) -> CustomerRemoval:
        async with database.read() as connection:
            return await directory.customer_removal(connection, wanted)

    if not yes:
        confirm(f"Remove {_removal_text(with_database(preview))}?", yes)

    async def work(database: Database) -> CustomerRemoval:
        async with database.write() as connection:
            return await directory.delete_customer(connection, wanted)

    removal = with_database(work)
    orphaned = list(removal.apps_left_without_customers)
    if as_json:
        emit_json(
            {
                **_customer_json(removal.customer),
                "removed": {
                    "customers": 1,
                    "services": removal.services,
                    "jobs": removal.jobs,
                    "appScopeEntries": removal.app_scope_entries,
                },
                "appsWithoutCustomers": orphaned,
            }
        )
        return
    console.print(f"Removed {_removal_text(removal)}", markup=False, highlight=False)
    for client_id in orphaned:
        errors.print(
            f"warning: app {client_id} was limited to this customer alone and now sees no "
            "customer: give it customers (apps update --customer) or delete it (apps delete)",
            markup=False,
            highlight=False,
        )
