"""Operator commands: partners, customers, services, app registrations, the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from backupjobs.auth import apps as app_registry
from backupjobs.auth.permissions import UnknownPermissionError, parse_permissions
from backupjobs.catalog import JOB_MODULES, JOB_TYPES
from backupjobs.cli.common import (
    console,
    emit_json,
    fail,
    parse_code,
    parse_uuid,
    with_database,
)
from backupjobs.store import directory
from backupjobs.store.database import Database

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]

partners = typer.Typer(help="Partners (MSPs).", no_args_is_help=True)
customers = typer.Typer(help="A partner's customers (tenants).", no_args_is_help=True)
services = typer.Typer(help="Backup services of a customer.", no_args_is_help=True)
apps = typer.Typer(help="App registrations and their credentials.", no_args_is_help=True)
db = typer.Typer(help="The database.", no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(UTC)


@partners.command("create")
def create_partner(
    name: Annotated[str, typer.Option("--name", help="The partner's name.")],
    as_json: JsonFlag = False,
) -> None:
    """Create a partner."""

    async def work(database: Database) -> str:
        async with database.write() as connection:
            return str(await directory.create_partner(connection, name, now=_now()))

    partner_id = with_database(work)
    if as_json:
        emit_json({"id": partner_id, "name": name.strip()})
    else:
        console.print(f"Created partner [bold]{name.strip()}[/bold]: {partner_id}")


@customers.command("create")
def create_customer(
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
                connection, partner_id, name, customer_id=wanted, now=_now()
            )
        return str(created)

    created_id = with_database(work)
    if as_json:
        emit_json({"id": created_id, "partnerId": str(partner_id), "name": name.strip()})
    else:
        console.print(f"Created customer [bold]{name.strip()}[/bold]: {created_id}")


@services.command("enable")
def enable_service(
    customer: Annotated[str, typer.Option("--customer", help="The customer's id.")],
    job_type: Annotated[str, typer.Option("--job-type", help="Code or name, e.g. 7.")],
    job_module: Annotated[str, typer.Option("--job-module", help="Code or name, e.g. 302.")],
    as_json: JsonFlag = False,
) -> None:
    """Enable a backup service for a customer (it shows as a placeholder row until it runs)."""
    customer_id = parse_uuid(customer, "--customer")
    type_code = parse_code(JOB_TYPES, job_type)
    module_code = parse_code(JOB_MODULES, job_module)

    async def work(database: Database) -> bool:
        async with database.write() as connection:
            return await directory.enable_service(
                connection, customer_id, type_code, module_code, now=_now()
            )

    created = with_database(work)
    if as_json:
        emit_json(
            {
                "customerId": str(customer_id),
                "jobType": type_code,
                "jobModule": module_code,
                "created": created,
            }
        )
    else:
        state = "Enabled" if created else "Already enabled:"
        console.print(
            f"{state} {JOB_TYPES.require(type_code).display} / "
            f"{JOB_MODULES.require(module_code).display} for customer {customer_id}"
        )


@apps.command("create")
def create_app(
    partner: Annotated[str, typer.Option("--partner", help="The partner's id.")],
    name: Annotated[str, typer.Option("--name", help="The app's name.")],
    permission: Annotated[
        list[str], typer.Option("--permission", help="A permission to grant (repeatable).")
    ],
    customer: Annotated[
        list[str] | None,
        typer.Option("--customer", help="Limit the app to this customer (repeatable)."),
    ] = None,
    secret_years: Annotated[
        int, typer.Option("--secret-years", min=1, max=3, help="Secret lifetime: 1, 2 or 3.")
    ] = 1,
    as_json: JsonFlag = False,
) -> None:
    """Register an app; prints its client id and its secret, which is shown only now."""
    partner_id = parse_uuid(partner, "--partner")
    try:
        permissions = parse_permissions(permission)
    except UnknownPermissionError as error:
        raise fail(str(error), 2) from None
    scope = [parse_uuid(c, "--customer") for c in customer] if customer else None

    async def work(database: Database) -> tuple[str, app_registry.IssuedSecret]:
        async with database.write() as connection:
            return await app_registry.create_app(
                connection,
                partner_id,
                name,
                permissions,
                customer_ids=scope,
                secret_years=secret_years,
                now=_now(),
            )

    client_id, secret = with_database(work)
    if as_json:
        emit_json(
            {
                "clientId": client_id,
                "clientSecret": secret.value,
                "secretId": secret.id,
                "secretExpiresAt": secret.expires_at.isoformat(),
                "permissions": sorted(permissions),
                "customers": None if scope is None else [str(c) for c in scope],
            }
        )
    else:
        console.print(f"Client id:     {client_id}")
        console.print(
            f"Client secret: {secret.value}  (shown once; expires {secret.expires_at:%Y-%m-%d})"
        )


@db.command("upgrade")
def upgrade() -> None:
    """Create the schema, or upgrade it to this version's."""

    async def work(database: Database) -> str:
        return database.describe()

    console.print(f"Database is up to date: {with_database(work)}")
