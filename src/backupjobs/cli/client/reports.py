"""The partner commands over this product's reports (``/api/v1``): ``history``,
``summary``, ``export``, and ``attention`` from ``/api/v1/services`` (one request for every
customer; ``--api auto``, the default, and ``--api v1``).

    backupjobs client history --since 7d --status failed --customer Northwind
    backupjobs client summary --since 30d
    backupjobs client export jobs.csv --since 30d
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from backupjobs.cli.client.commands import client
from backupjobs.cli.client.options import CustomersOption, FormatOption, ProfileOption, duration
from backupjobs.cli.client.output import Column, Format, age_text, emit, time_text
from backupjobs.cli.client.session import chosen_customers, connected, every_page, run
from backupjobs.cli.common import console
from backupjobs.sdk import AsyncClient, HistoryJob, NotFoundError, ServiceHealth
from backupjobs.wire.formats import format_size

SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="Only jobs that started within this long (7d, 36h)."),
]
StatusOption = Annotated[
    list[str] | None,
    typer.Option("--status", help="Only this status, a name or a code (repeatable)."),
]
TypesOption = Annotated[
    list[str] | None, typer.Option("--type", help="Only this job type (repeatable).")
]
ModulesOption = Annotated[
    list[str] | None, typer.Option("--module", help="Only this job module (repeatable).")
]


def _since(text: str | None) -> timedelta | None:
    return None if text is None else duration(text, "--since")


async def _customer_ids(partner: AsyncClient, wanted: Sequence[str] | None) -> list[str]:
    """Ids of the customers named (ids, or names or parts of names, any case)."""
    if not wanted:
        return []
    return [customer.id for customer in await chosen_customers(partner.v3, wanted)]


def _job_row(job: HistoryJob) -> dict[str, Any]:
    row = asdict(job)
    row["customerId"] = str(row.pop("customer_id"))
    for name in ("start_time", "end_time", "last_modify_time"):
        value = row.pop(name)
        row[name] = None if value is None else value.isoformat()
    return {_camel(name): value for name, value in row.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_STATUS_COLOURS = {2: "green", 3: "red", 7: "red", 4: "yellow", 1: "cyan"}


def _status(row: dict[str, Any]) -> str:
    colour = _STATUS_COLOURS.get(row["status"])
    return f"[{colour}]{row['statusName']}[/{colour}]" if colour else row["statusName"]


HISTORY_COLUMNS = (
    Column("Started (UTC)", lambda row: time_text(row["startTime"] or row["lastModifyTime"])),
    Column("Customer", lambda row: row["customerName"], "bold", wraps=True),
    Column("Type", lambda row: row["jobTypeName"], wraps=True),
    Column("Module", lambda row: row["jobModuleName"], wraps=True),
    Column("Status", _status),
    Column("Duration", lambda row: age_text(row["durationSeconds"])),
    Column(
        "Size",
        lambda row: "" if row["backupSizeBytes"] is None else format_size(row["backupSizeBytes"]),
    ),
    Column("Job ID", lambda row: row["jobId"], "dim"),
)


@client.command("history")
def history(
    since: SinceOption = None,
    status: StatusOption = None,
    customer: CustomersOption = None,
    job_type: TypesOption = None,
    job_module: ModulesOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many jobs.")] = 100,
    profile: ProfileOption = None,
    output: FormatOption = Format.table,
) -> None:
    """Job runs across every customer, newest first (this service's /api/v1/jobs)."""

    async def work() -> list[HistoryJob]:
        async with connected(profile) as partner:
            found: list[HistoryJob] = []
            async for job in partner.reports.history(
                customer_id=await _customer_ids(partner, customer),
                job_type=job_type,
                job_module=job_module,
                status=status,
                since=_since(since),
                page_size=min(limit, 1000),
            ):
                found.append(job)
                if len(found) >= limit:
                    break
            return found

    emit([_job_row(job) for job in run(work())], HISTORY_COLUMNS, output)


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


SUMMARY_COLUMNS = (
    Column("Customer", lambda row: row["customerName"], "bold", wraps=True),
    Column("Job status", lambda row: row["jobStatusName"], wraps=True),
    Column("Jobs", lambda row: str(row["jobs"])),
    Column("Success", lambda row: _rate(row["successRate"])),
    Column("Failing", lambda row: str(row["failingServices"])),
    Column("Stale", lambda row: str(row["staleServices"])),
    Column("Last success (UTC)", lambda row: time_text(row["lastSuccessTime"])),
    Column("Size", lambda row: format_size(row["backupSizeBytes"])),
)


@client.command("summary")
def summary(
    since: Annotated[str, typer.Option("--since", help="The window: this long up to now.")] = "7d",
    customer: CustomersOption = None,
    profile: ProfileOption = None,
    output: FormatOption = Format.table,
) -> None:
    """Every customer's jobs and success rate over a window, worst first, with totals."""

    async def work() -> Any:
        async with connected(profile) as partner:
            ids = await _customer_ids(partner, customer)
            return await partner.reports.summary(start=_since(since), customer_id=ids)

    found = run(work())
    rows = [
        {
            **{_camel(k): v for k, v in asdict(entry).items()},
            "customerId": str(entry.customer_id),
            "lastSuccessTime": None
            if entry.last_success_time is None
            else entry.last_success_time.isoformat(),
        }
        for entry in found.customers
    ]
    emit(rows, SUMMARY_COLUMNS, output)
    if output is Format.table:
        totals = found.totals
        console.print(
            f"[bold]{totals.customers}[/bold] customers, {totals.services} services, "
            f"{totals.jobs} jobs, success {_rate(totals.success_rate) or 'n/a'}, "
            f"{totals.failing_services} failing, {totals.stale_services} stale",
            highlight=False,
        )


@client.command("export")
def export(
    path: Annotated[Path, typer.Argument(help="The file to write (.csv or .ndjson).")],
    since: SinceOption = None,
    status: StatusOption = None,
    customer: CustomersOption = None,
    job_type: TypesOption = None,
    job_module: ModulesOption = None,
    profile: ProfileOption = None,
) -> None:
    """Write the job history to a file, CSV or NDJSON by its extension, with progress."""
    chosen = "ndjson" if path.suffix.lower() in (".ndjson", ".jsonl") else "csv"

    async def work() -> int:
        async with connected(profile) as partner:
            ids = await _customer_ids(partner, customer)
            with Progress(
                TextColumn("[bold]export[/bold] {task.fields[rows]:,} rows"),
                BarColumn(bar_width=None),
                DownloadColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=not console.is_terminal,
            ) as bar:
                task = bar.add_task("export", total=None, rows=0)
                return await partner.reports.export(
                    path,
                    format=chosen,
                    progress=lambda rows, size: bar.update(task, completed=size, rows=rows),
                    customer_id=ids,
                    job_type=job_type,
                    job_module=job_module,
                    status=status,
                    since=_since(since),
                )

    rows = run(work())
    sys.stderr.write(f"{rows:,} jobs written to {path}\n")


ATTENTION_COLUMNS = (
    Column("Customer", lambda row: row["customerName"], "bold", wraps=True),
    Column("Type", lambda row: row["jobTypeName"], wraps=True),
    Column("Module", lambda row: row["jobModuleName"], wraps=True),
    Column("Health", lambda row: row["health"] + (" (stale)" if row["stale"] else ""), "bold"),
    Column("Failures in a row", lambda row: str(row["consecutiveFailures"])),
    Column("Last success (UTC)", lambda row: time_text(row["lastSuccessTime"])),
)

#: What ``attention --api v1`` lists: the services that need someone.
ATTENTION_HEALTHS = ("failing", "stale", "never_run")


def attention_from_reports(
    profile: str | None,
    stale_after: timedelta,
    customer: Sequence[str] | None,
    output: Format,
    *,
    fall_back: bool = False,
) -> bool:
    """``attention`` in one listing of /api/v1/services (health failing, stale, never run).

    With ``fall_back``, a server without that list (404: the vendor's API) prints nothing
    and is False, for the caller to ask each customer instead; else True, printed."""
    hours = int(stale_after.total_seconds() // 3600)
    minutes = int(stale_after.total_seconds() % 3600 // 60)

    async def work() -> list[ServiceHealth] | None:
        async with connected(profile) as partner:
            ids = await _customer_ids(partner, customer)
            listing = partner.reports.services(
                customer_id=ids,
                health=ATTENTION_HEALTHS,
                stale_after=f"PT{hours}H{minutes}M" if minutes else f"PT{hours}H",
                page_size=1000,
            )
            try:
                return await every_page(listing, "services")
            except NotFoundError:
                if fall_back:
                    return None
                raise

    services = run(work())
    if services is None:
        return False
    rows = []
    for service in services:
        row = {_camel(k): v for k, v in asdict(service).items() if k != "latest_job"}
        row["customerId"] = str(service.customer_id)
        row["lastSuccessTime"] = (
            None if service.last_success_time is None else service.last_success_time.isoformat()
        )
        row["latestJobId"] = service.latest_job.job_id if service.latest_job else None
        rows.append(row)
    emit(rows, ATTENTION_COLUMNS, output)
    return True
