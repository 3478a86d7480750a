"""``backupjobs services``: backup services of a customer."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import typer
from rich.table import Table
from rich.text import Text

from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES
from backupjobs.cli.common import (
    JsonFlag,
    console,
    emit_json,
    isoformat,
    listed_plainly,
    minute_text,
    now,
    parse_code,
    parse_uuid,
    reading,
    writing,
)
from backupjobs.store import directory
from backupjobs.store.directory import Enabling, ServiceInfo

group = typer.Typer(help="Backup services of a customer.", no_args_is_help=True)

CustomerOption = Annotated[str, typer.Option("--customer", help="The customer's id.")]
JobTypeOption = Annotated[
    str, typer.Option("--job-type", help="Code or name, e.g. 7 or 'Microsoft 365'.")
]
JobModuleOption = Annotated[
    str, typer.Option("--job-module", help="Code or name, e.g. 302 or 'SharePoint Online'.")
]


def _name(table: Any, code: int) -> str:
    entry = table.find(code)
    return entry.display if entry is not None else str(code)


def _service(customer_id: str, job_type: int, job_module: int) -> str:
    return (
        f"{_name(JOB_TYPES, job_type)} / {_name(JOB_MODULES, job_module)} of customer {customer_id}"
    )


def _key(customer: str, job_type: str, job_module: str) -> tuple[UUID, int, int]:
    """The service the options name: customer id, job type and module codes."""
    return (
        parse_uuid(customer, "--customer"),
        parse_code(JOB_TYPES, job_type),
        parse_code(JOB_MODULES, job_module),
    )


def _tell(key: tuple[UUID, int, int], said: str, as_json: bool, **outcome: bool) -> None:
    """What ``enable`` or ``disable`` did: one JSON object, or a line for people."""
    customer_id, type_code, module_code = key
    if as_json:
        emit_json(
            {
                "customerId": str(customer_id),
                "jobType": type_code,
                "jobModule": module_code,
                **outcome,
            }
        )
        return
    console.print(f"{said} {_service(str(customer_id), type_code, module_code)}", markup=False)


@group.command("enable")
def enable(
    customer: CustomerOption,
    job_type: JobTypeOption,
    job_module: JobModuleOption,
    as_json: JsonFlag = False,
) -> None:
    """Enable a backup service for a customer, or enable again a disabled one.

    A new service shows as a placeholder row until it runs; one enabled again shows with
    its latest job.
    """
    key = _key(customer, job_type, job_module)
    done = writing(lambda connection: directory.enable_service(connection, *key, now=now()))
    said = {
        Enabling.CREATED: "Enabled",
        Enabling.RE_ENABLED: "Enabled again (its history and latest job show again):",
        Enabling.UNCHANGED: "Already enabled:",
    }[done]
    _tell(
        key,
        said,
        as_json,
        created=done is Enabling.CREATED,
        changed=done is not Enabling.UNCHANGED,
        enabled=True,
    )


@group.command("disable")
def disable(
    customer: CustomerOption,
    job_type: JobTypeOption,
    job_module: JobModuleOption,
    as_json: JsonFlag = False,
) -> None:
    """Disable a backup service: it leaves the job APIs at once and keeps its history.

    The v3 and Modern job pages leave it out from the next request. Jobs reported for it
    later are still recorded; services enable brings it back.
    """
    key = _key(customer, job_type, job_module)
    changed = writing(lambda connection: directory.disable_service(connection, *key, now=now()))
    _tell(
        key, "Disabled" if changed else "Already disabled:", as_json, changed=changed, enabled=False
    )


def _service_json(service: ServiceInfo) -> dict[str, Any]:
    latest = None
    if service.latest_job_id is not None:
        status = service.latest_status
        latest = {
            "jobId": service.latest_job_id,
            "status": status,
            "statusName": None if status is None else _name(STATUSES, status),
            "time": isoformat(service.latest_time),
        }
    return {
        "partnerId": str(service.partner_id),
        "customerId": str(service.customer_id),
        "customerName": service.customer_name,
        "jobType": service.job_type,
        "jobTypeName": _name(JOB_TYPES, service.job_type),
        "jobModule": service.job_module,
        "jobModuleName": _name(JOB_MODULES, service.job_module),
        "enabled": service.disabled_at is None,
        "enabledAt": isoformat(service.enabled_at),
        "disabledAt": isoformat(service.disabled_at),
        "latestJob": latest,
    }


@group.command("list")
def list_services(
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only this customer's services (its id).")
    ] = None,
    partner: Annotated[
        str | None, typer.Option("--partner", help="Only this partner's services (its id).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Backup services, enabled and disabled, with their latest job."""
    customer_id = parse_uuid(customer, "--customer") if customer else None
    partner_id = parse_uuid(partner, "--partner") if partner else None

    found = reading(
        lambda connection: directory.list_services(
            connection, customer_id=customer_id, partner_id=partner_id
        )
    )
    if listed_plainly(found, as_json, "services", _service_json, "No services."):
        return
    table = Table("customer", "job type", "job module", "state", "latest job", box=None)
    for service in found:
        state = (
            "enabled"
            if service.disabled_at is None
            else f"disabled {minute_text(service.disabled_at)}"
        )
        latest = (
            "never run"
            if service.latest_job_id is None or service.latest_status is None
            else f"{_name(STATUSES, service.latest_status)}, {minute_text(service.latest_time)}"
        )
        table.add_row(
            Text(service.customer_name),
            _name(JOB_TYPES, service.job_type),
            _name(JOB_MODULES, service.job_module),
            state,
            latest,
        )
    console.print(table)
