"""``backupjobs services``: backup services of a customer."""

from __future__ import annotations

from typing import Annotated

import typer

from backupjobs.catalog import JOB_MODULES, JOB_TYPES
from backupjobs.cli.common import (
    JsonFlag,
    console,
    emit_json,
    now,
    parse_code,
    parse_uuid,
    with_database,
)
from backupjobs.store import directory
from backupjobs.store.database import Database

group = typer.Typer(help="Backup services of a customer.", no_args_is_help=True)


@group.command("enable")
def enable(
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
                connection, customer_id, type_code, module_code, now=now()
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
