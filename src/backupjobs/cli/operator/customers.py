"""``backupjobs customers``: a partner's customers (tenants)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from backupjobs.catalog import MANAGEMENT_MODES
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
    listed_plainly,
    minute_text,
    now,
    parse_uuid,
    plural,
    reading,
    said,
    writing,
)
from backupjobs.model import DEFAULT_MANAGEMENT_MODE, CustomerProfile, Tenant
from backupjobs.store import directory
from backupjobs.store.directory import CustomerChanges, CustomerInfo, CustomerRemoval

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")

group = typer.Typer(help="A partner's customers (tenants).", no_args_is_help=True)
IdOption = Annotated[str, typer.Option("--id", help="The customer's id (tenant owner id).")]


OwnerEmailOption = Annotated[
    str | None,
    typer.Option("--owner-email", help="The owner's email address (empty: unknown)."),
]
CountryOption = Annotated[
    str | None,
    typer.Option("--country", help="The customer's country or region (empty: unknown)."),
]
ManagementModeOption = Annotated[
    str | None,
    typer.Option(
        "--management-mode",
        help="Who manages its tenants: 0 customer, 1 partner, 2 to be configured (default), "
        "or the name.",
    ),
]
TenantOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tenant", help="A tenant of the customer, as ID=NAME; repeat for each.", metavar="ID=NAME"
    ),
]


def _tenant(value: str) -> Tenant:
    tenant_id, equals, name = value.partition("=")
    if not equals or not tenant_id.strip() or not name.strip():
        raise fail(f"--tenant must be ID=NAME (a tenant id and its name), not {value!r}", 2)
    return Tenant(tenant_id, name)


def _management_mode(value: str | None) -> int | None:
    if value is None:
        return None
    entry = MANAGEMENT_MODES.find(value)
    if entry is None:
        valid = ", ".join(f"{mode.code} ({mode.display})" for mode in MANAGEMENT_MODES)
        raise fail(f"--management-mode {value!r} is not one of {valid}, nor its name", 2)
    return entry.code


def _checked(check: Callable[[], T]) -> T:
    """A value checked by the store before any database is opened: a bad one exits 2."""
    try:
        return check()
    except ValueError as error:
        raise fail(str(error), 2) from None


@group.command("create")
def create(
    partner: Annotated[str, typer.Option("--partner", help="The partner's id.")],
    name: Annotated[str, typer.Option("--name", help="The customer's name.")],
    customer_id: Annotated[
        str | None, typer.Option("--id", help="The tenant owner id (default: a new UUID).")
    ] = None,
    owner_email: OwnerEmailOption = None,
    country: CountryOption = None,
    management_mode: ManagementModeOption = None,
    tenants: TenantOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a customer of a partner."""
    partner_id = parse_uuid(partner, "--partner")
    wanted = parse_uuid(customer_id, "--id") if customer_id else None
    mode = _management_mode(management_mode)
    profile = _checked(
        lambda: CustomerProfile(
            owner_email=directory.owner_email(owner_email or ""),
            country_or_region=directory.country_or_region(country or ""),
            management_mode=DEFAULT_MANAGEMENT_MODE if mode is None else mode,
            tenants=directory.tenants(_tenant(t) for t in tenants or ()),
        )
    )

    async def create_customer(connection: AsyncConnection) -> CustomerInfo:
        created = await directory.create_customer(
            connection, partner_id, name, customer_id=wanted, profile=profile, now=now()
        )
        return await directory.describe_customer(connection, created)

    customer = writing(create_customer)
    said(
        as_json,
        _customer_json(customer),
        f"Created customer [bold]{customer.name}[/bold]: {customer.id}",
    )


def _customer_json(customer: CustomerInfo) -> dict[str, Any]:
    return {
        "id": str(customer.id),
        "partnerId": str(customer.partner_id),
        "name": customer.name,
        "createdAt": isoformat(customer.created_at),
        "services": customer.services,
        "disabledServices": customer.disabled_services,
        "ownerEmail": customer.owner_email,
        "countryOrRegion": customer.country_or_region,
        "managementMode": customer.management_mode,
        "tenants": [{"id": t.id, "name": t.name} for t in customer.tenants],
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

    found = reading(lambda connection: directory.list_customers(connection, partner_id=partner_id))
    if listed_plainly(found, as_json, "customers", _customer_json, "No customers."):
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
    owner_email: OwnerEmailOption = None,
    country: CountryOption = None,
    management_mode: ManagementModeOption = None,
    tenants: TenantOption = None,
    no_tenants: Annotated[
        bool, typer.Option("--no-tenants", help="Remove every tenant of the customer.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Change a customer's fields; those not given stay as they are. ``--tenant`` gives
    the customer's tenants anew (those not given are removed)."""
    wanted = parse_uuid(customer_id, "--id")
    if tenants and no_tenants:
        raise fail("give --tenant or --no-tenants, not both", 2)
    # A new field: an option above, and its value here (see directory.CustomerChanges).
    changes = CustomerChanges(
        name=name,
        owner_email=owner_email,
        country_or_region=country,
        management_mode=_management_mode(management_mode),
        tenants=() if no_tenants else tuple(_tenant(t) for t in tenants) if tenants else None,
    )
    if not _checked(changes.values):
        raise fail(
            "nothing to change: give --name, --owner-email, --country, --management-mode, "
            "--tenant or --no-tenants",
            2,
        )

    before, after = writing(
        lambda connection: directory.update_customer(connection, wanted, changes)
    )
    changed = CustomerChanges.differences(before, after)
    if as_json:
        emit_json(
            {
                **_customer_json(after),
                "changed": {
                    _JSON_NAMES.get(field, field): {"from": _json(old), "to": _json(new)}
                    for field, (old, new) in changed.items()
                },
            }
        )
        return
    if not changed:
        console.print(f"Customer {after.id} unchanged", highlight=False)
    for field, (old, new) in changed.items():
        console.print(
            f"Customer {after.id}: {field.replace('_', ' ')} {_text(old)} -> {_text(new)}",
            markup=False,
        )


#: Fields of CustomerChanges as _customer_json names them.
_JSON_NAMES = {
    "owner_email": "ownerEmail",
    "country_or_region": "countryOrRegion",
    "management_mode": "managementMode",
}


def _json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [{"id": tenant.id, "name": tenant.name} for tenant in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{tenant.id}={tenant.name}" for tenant in value) + "]"
    return repr(value)


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

    if not yes:
        preview = reading(lambda connection: directory.customer_removal(connection, wanted))
        confirm(f"Remove {_removal_text(preview)}?", yes)

    removal = writing(lambda connection: directory.delete_customer(connection, wanted))
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
