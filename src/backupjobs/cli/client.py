"""``backupjobs client ...``: the partner's command line, over the partner APIs.

Everything here goes through :mod:`backupjobs.sdk` with a partner app's credentials, from
``BACKUPJOBS_*`` environment variables or a profile file (see
:mod:`backupjobs.sdk.profiles`), never from the command line; it never touches a
database, unlike the operator commands.

    backupjobs client customers
    backupjobs client jobs Northwind --type "Microsoft 365" --format csv
    backupjobs client attention --stale-after 36h
    backupjobs client watch --interval 60
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES, CodeTable
from backupjobs.cli.common import console, errors, fail
from backupjobs.sdk import (
    AsyncClient,
    AsyncModern,
    AsyncV3,
    AuthenticationError,
    BackupJobsError,
    ClientCertificate,
    ConfigurationError,
    Customer,
    Job,
    OAuthError,
    PermissionDeniedError,
    ProblemError,
    load_profile,
    parse_duration,
)
from backupjobs.wire import format_seconds, format_size, format_time

T = TypeVar("T")

client = typer.Typer(
    help=(
        "Partner commands: customers and backup jobs through the v3 or Modern API, as a "
        "partner's app. Credentials come from BACKUPJOBS_API_URL, BACKUPJOBS_CLIENT_ID and "
        "BACKUPJOBS_CLIENT_SECRET (or BACKUPJOBS_CLIENT_KEY and BACKUPJOBS_CLIENT_CERTIFICATE), "
        "or from a profile file (--profile); never from the command line."
    ),
    no_args_is_help=True,
)

#: Requests in flight at once when a command reads every customer's jobs.
CONCURRENCY = 8
#: Statuses that count as failed unless --status says otherwise.
FAILED_STATUSES = ("Failed", "ErrorStart")
NEVER_RUN = "never run"


class Api(StrEnum):
    v3 = "v3"
    modern = "modern"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar="BACKUPJOBS_PROFILE",
        help="Profile in the profile file (default: 'default'); BACKUPJOBS_* variables win.",
        show_default=False,
    ),
]
ApiOption = Annotated[Api, typer.Option("--api", help="Which API generation to call.")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
TypeOption = Annotated[
    str | None,
    typer.Option("--type", help="Only this job type: a name ('Microsoft 365') or a code."),
]
ModuleOption = Annotated[
    str | None,
    typer.Option("--module", help="Only this job module: a name ('OneDrive') or a code."),
]
CustomersOption = Annotated[
    list[str] | None,
    typer.Option("--customer", help="Only this customer, by id or name (repeatable)."),
]


# --- records as rows ---------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def customer_row(customer: Customer) -> dict[str, Any]:
    return {
        "customerId": customer.id,
        "customerName": customer.name,
        "createdTime": _iso(customer.created_time),
    }


def job_row(job: Job) -> dict[str, Any]:
    """A job with typed values: codes beside names, bytes, seconds, ISO 8601 UTC times."""
    return {
        "customerId": job.customer_id,
        "jobType": job.job_type.name,
        "jobTypeCode": job.job_type.code,
        "jobModule": job.job_module.name,
        "jobModuleCode": job.job_module.code,
        "status": job.status.name,
        "statusCode": job.status.code,
        "jobId": job.job_id,
        "name": job.name,
        "totalCount": job.total_count,
        "failedCount": job.failed_count,
        "successfulCount": job.successful_count,
        "skippedCount": job.skipped_count,
        "warningCount": job.warning_count,
        "backupSizeBytes": job.backup_size,
        "startTime": _iso(job.start_time),
        "endTime": _iso(job.end_time),
        "durationSeconds": None if job.duration is None else int(job.duration.total_seconds()),
        "lastModifyTime": _iso(job.last_modify_time),
    }


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the table format: its header and how a row's values are shown."""

    header: str
    show: Callable[[dict[str, Any]], str]
    style: str | None = None
    #: Names may wrap in a narrow terminal; codes, times and numbers stay on one line.
    wraps: bool = False


def _time_text(value: str | None) -> str:
    return "" if value is None else value.replace("T", " ")


def _status_text(row: dict[str, Any]) -> str:
    if row.get("jobId") is None:
        return f"[dim]{NEVER_RUN}[/dim]"
    colour = {2: "green", 3: "red", 7: "red", 4: "yellow", 1: "cyan"}.get(row["statusCode"])
    return f"[{colour}]{row['status']}[/{colour}]" if colour else str(row["status"])


def _age_text(seconds: int | None) -> str:
    """Two units are enough to read an age: ``3d4h``, ``5h12m``, ``7m``."""
    if seconds is None:
        return ""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{rest // 60}m" if hours else f"{rest // 60}m"


def _customer_text(row: dict[str, Any]) -> str:
    return str(row["customerName"] or row["customerId"])


def _number(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: "" if row.get(key) is None else str(row[key])


CUSTOMER_COLUMNS = (
    Column("Customer", lambda row: row["customerName"] or "", "bold", wraps=True),
    Column("ID", lambda row: row["customerId"]),
    Column("Created (UTC)", lambda row: _time_text(row["createdTime"])),
)
JOB_COLUMNS = (
    Column("Type", lambda row: row["jobType"], wraps=True),
    Column("Module", lambda row: row["jobModule"], wraps=True),
    Column("Status", _status_text),
    Column("Started (UTC)", lambda row: _time_text(row["startTime"])),
    Column(
        "Duration",
        lambda row: (
            "" if row["durationSeconds"] is None else format_seconds(row["durationSeconds"])
        ),
    ),
    Column(
        "Size",
        lambda row: "" if row["backupSizeBytes"] is None else format_size(row["backupSizeBytes"]),
    ),
    Column("Items", _number("totalCount")),
    Column("Failed", _number("failedCount")),
    Column("Job ID", lambda row: row["jobId"] or "", "dim"),
)
ATTENTION_COLUMNS = (
    Column("Customer", _customer_text, "bold", wraps=True),
    Column("Type", lambda row: row["jobType"], wraps=True),
    Column("Module", lambda row: row["jobModule"], wraps=True),
    Column("Reason", lambda row: ", ".join(row["reasons"]), "bold"),
    Column("Status", _status_text),
    Column("Started (UTC)", lambda row: _time_text(row["startTime"])),
    Column("Age", lambda row: _age_text(row["ageSeconds"])),
    Column("Failed", _number("failedCount")),
    Column("Job ID", lambda row: row["jobId"] or "", "dim"),
)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return value


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[Column], output: Format) -> None:
    """Print rows as a table, one JSON array, or CSV with a header (empty for None)."""
    if output is Format.json:
        sys.stdout.write(json.dumps(list(rows), indent=2) + "\n")
    elif output is Format.csv:
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({key: _csv_value(value) for key, value in row.items()} for row in rows)
    else:
        table = Table(*(column.header for column in columns), header_style="bold")
        for column, rendered in zip(columns, table.columns, strict=True):
            rendered.style = column.style or ""
            rendered.no_wrap = not column.wraps
            rendered.min_width = 8 if column.wraps else None
        for row in rows:
            table.add_row(*(column.show(row) for column in columns))
        # On a terminal the table fits the window; into a file or a pipe, it is not cut.
        if console.is_terminal:
            console.print(table)
        else:
            unlimited = console.options.update_width(10_000)
            width = console.measure(table, options=unlimited).maximum
            Console(file=sys.stdout, width=width).print(table)
        errors.print(plural(len(rows), "row"), style="dim")
    sys.stdout.flush()


# --- connecting --------------------------------------------------------------------------


@contextmanager
def reported() -> Iterator[None]:
    """SDK errors as one line on stderr: exit 2 for configuration, 1 for the service."""
    try:
        yield
    except ConfigurationError as error:
        raise fail(str(error), 2) from None
    except OAuthError as error:
        raise fail(f"the token endpoint refused: {error}") from None
    except ProblemError as error:
        raise fail(f"{error.status} {error.title}: {error.detail}") from None
    except BackupJobsError as error:
        raise fail(str(error)) from None


@asynccontextmanager
async def connected(profile: str | None) -> AsyncIterator[AsyncClient]:
    async with AsyncClient.from_profile(load_profile(profile)) as partner:
        yield partner


def run(work: Coroutine[Any, Any, T]) -> T:
    with reported():
        try:
            return asyncio.run(work)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


def generation(partner: AsyncClient, api: Api) -> AsyncV3 | AsyncModern:
    return partner.v3 if api is Api.v3 else partner.modern


def code(table: CodeTable, value: str | None, option: str) -> int | None:
    """A code from a name or a number; numbers the catalog does not know pass through."""
    if value is None:
        return None
    text = value.strip()
    if text.isdecimal():
        return int(text)
    entry = table.find(text)
    if entry is None:
        raise fail(f"{option}: unknown {table.field} {text!r}", 2)
    return entry.code


@contextmanager
def progress(description: str) -> Iterator[Progress]:
    """A progress bar on stderr, shown only on a terminal."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    )
    with bar:
        bar.add_task(description, total=None)
        yield bar


async def all_customers(api: AsyncV3 | AsyncModern) -> list[Customer]:
    listing = api.customers()
    found: list[Customer] = []
    with progress("customers") as bar:
        async for page in listing.pages():
            found.extend(page.items)
            bar.update(bar.task_ids[0], completed=len(found), total=page.total)
    return found


async def chosen_customers(api: AsyncV3 | AsyncModern, wanted: Sequence[str]) -> list[Customer]:
    """Every customer the app sees, or those named by id or name (an error if one is not)."""
    customers = await all_customers(api)
    if not wanted:
        return customers
    return [find_customer(customers, name) for name in wanted]


def find_customer(customers: Sequence[Customer], wanted: str) -> Customer:
    by_id = [c for c in customers if c.id.lower() == wanted.strip().lower()]
    by_name = [c for c in customers if (c.name or "").casefold() == wanted.strip().casefold()]
    matches = by_id or by_name
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise fail(f"no customer {wanted!r} visible to this app", 2)
    ids = ", ".join(c.id for c in matches)
    raise fail(f"{len(matches)} customers are named {wanted!r}: give the id ({ids})", 2)


async def jobs_of(
    api: AsyncV3 | AsyncModern,
    customers: Sequence[Customer],
    *,
    job_type: int | None = None,
    job_module: int | None = None,
) -> list[tuple[Customer, list[Job]]]:
    """Each customer's services, CONCURRENCY customers at a time, in the customers' order."""
    limit = asyncio.Semaphore(CONCURRENCY)
    with progress("customers' jobs") as bar:
        task = bar.task_ids[0]
        bar.update(task, total=len(customers))

        async def one(customer: Customer) -> tuple[Customer, list[Job]]:
            async with limit:
                listing = api.jobs(customer.id, job_type=job_type, job_module=job_module)
                found = [job async for job in listing]
            bar.advance(task)
            return customer, found

        return list(await asyncio.gather(*(one(customer) for customer in customers)))


# --- commands ----------------------------------------------------------------------------


@client.command("check")
def check(profile: ProfileOption = None, output: FormatOption = Format.table) -> None:
    """Sign in with the configured credentials and show what the token grants."""

    async def work() -> dict[str, Any]:
        chosen = load_profile(profile)
        async with AsyncClient.from_profile(chosen) as partner:
            token = await partner.authenticate()
            return {
                "apiUrl": chosen.api_url,
                "tokenUrl": partner.token_url,
                "clientId": chosen.client_id,
                "credential": partner_credential(partner.credential),
                "source": chosen.source,
                "scope": token.scope,
                "expiresIn": None if token.expires_in is None else int(token.expires_in),
            }

    found = run(work())
    if output is Format.json:
        sys.stdout.write(json.dumps(found) + "\n")
    elif output is Format.csv:
        emit([found], (), output)
    else:
        for key, value in found.items():
            console.print(f"[bold]{key}[/bold]: {value}", highlight=False)


def partner_credential(credential: object) -> str:
    """How the app signs in, without the secret."""
    if isinstance(credential, ClientCertificate):
        return f"certificate {credential.thumbprint} ({credential.algorithm})"
    return "client secret"


@client.command("customers")
def customers(
    profile: ProfileOption = None, api: ApiOption = Api.v3, output: FormatOption = Format.table
) -> None:
    """List the customers the app sees, by name."""

    async def work() -> list[Customer]:
        async with connected(profile) as partner:
            return await all_customers(generation(partner, api))

    emit([customer_row(c) for c in run(work())], CUSTOMER_COLUMNS, output)


@client.command("jobs")
def jobs(
    customer: Annotated[str, typer.Argument(help="The customer's id, or its name.")],
    job_type: TypeOption = None,
    job_module: ModuleOption = None,
    profile: ProfileOption = None,
    api: ApiOption = Api.v3,
    output: FormatOption = Format.table,
) -> None:
    """A customer's backup services, each with its latest job, by type then module."""
    type_code = code(JOB_TYPES, job_type, "--type")
    module_code = code(JOB_MODULES, job_module, "--module")

    async def work() -> list[Job]:
        async with connected(profile) as partner:
            chosen = generation(partner, api)
            customer_id = customer if _is_uuid(customer) else None
            if customer_id is None:
                customer_id = find_customer(await all_customers(chosen), customer).id
            listing = chosen.jobs(customer_id, job_type=type_code, job_module=module_code)
            found: list[Job] = []
            with progress("jobs") as bar:
                async for page in listing.pages():
                    found.extend(page.items)
                    bar.update(bar.task_ids[0], completed=len(found), total=page.total)
            return found

    emit([job_row(job) for job in run(work())], JOB_COLUMNS, output)


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def attention_reasons(
    job: Job, *, now: datetime, stale_after: timedelta, failed: frozenset[int]
) -> list[str]:
    """Why a service needs attention: ``failed`` (its latest job's status is one of
    ``failed``), ``stale`` (its latest job started more than ``stale_after`` ago, or, not
    started, was last modified that long ago) or ``never run``; empty if it is fine."""
    if not job.has_run:
        return [NEVER_RUN]
    reasons = []
    if job.status.code in failed:
        reasons.append("failed")
    latest = job.start_time or job.last_modify_time
    if latest is None or now - latest > stale_after:
        reasons.append("stale")
    return reasons


def _duration_option(text: str) -> timedelta:
    try:
        found = parse_duration(text.strip(), "--stale-after")
    except BackupJobsError:
        found = None
    if not found:
        raise typer.BadParameter(f"{text!r} is not a duration such as 24h, 2d or 1d12h")
    return found


@client.command("attention")
def attention(
    stale_after: Annotated[
        str,
        typer.Option(
            "--stale-after",
            help="A service whose latest job started longer ago than this is stale "
            "(d, h, m, s: 24h, 2d, 1d12h).",
        ),
    ] = "24h",
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help="A status that counts as failed (repeatable; default: Failed and "
            "'Failed to start').",
        ),
    ] = None,
    customer: CustomersOption = None,
    profile: ProfileOption = None,
    api: ApiOption = Api.v3,
    output: FormatOption = Format.table,
) -> None:
    """Every customer's services that failed, are stale, or never ran: failures first."""
    threshold = _duration_option(stale_after)
    failed = frozenset(
        code_
        for name in (status or FAILED_STATUSES)
        if (code_ := code(STATUSES, name, "--status")) is not None
    )

    async def work() -> list[tuple[Customer, list[Job]]]:
        async with connected(profile) as partner:
            chosen = generation(partner, api)
            return await jobs_of(chosen, await chosen_customers(chosen, customer or []))

    now = datetime.now(UTC)
    found = []
    for owner, services in run(work()):
        for job in services:
            reasons = attention_reasons(job, now=now, stale_after=threshold, failed=failed)
            if reasons:
                found.append(_attention_row(owner, job, reasons, now))
    order = {"failed": 0, "stale": 1, NEVER_RUN: 2}
    found.sort(
        key=lambda row: (
            order[row["reasons"][0]],
            (row["customerName"] or "").casefold(),
            row["jobTypeCode"] if row["jobTypeCode"] is not None else -1,
            row["jobModuleCode"] if row["jobModuleCode"] is not None else -1,
        )
    )
    emit(found, ATTENTION_COLUMNS, output)


def _attention_row(
    customer: Customer, job: Job, reasons: list[str], now: datetime
) -> dict[str, Any]:
    latest = job.start_time or job.last_modify_time
    age = None if latest is None else max(int((now - latest).total_seconds()), 0)
    return {
        "customerName": customer.name,
        **job_row(job),
        "reasons": reasons,
        "ageSeconds": age,
    }


# --- watch -------------------------------------------------------------------------------

ServiceKey = tuple[str, str, str]


def snapshot(found: Sequence[tuple[Customer, list[Job]]]) -> dict[ServiceKey, tuple[Customer, Job]]:
    return {
        (owner.id, job.job_type.name, job.job_module.name): (owner, job)
        for owner, services in found
        for job in services
    }


@dataclass(frozen=True, slots=True)
class Change:
    """What changed in one service between two polls."""

    kind: str  # "new service", "new job", "status", "gone"
    customer: Customer
    before: Job | None
    after: Job | None

    @property
    def job(self) -> Job:
        found = self.after or self.before
        assert found is not None  # a change always has one side
        return found


def changes(
    before: dict[ServiceKey, tuple[Customer, Job]], after: dict[ServiceKey, tuple[Customer, Job]]
) -> list[Change]:
    """New services, new jobs (another jobId), status changes, and services gone."""
    found = []
    for key, (owner, job) in after.items():
        previous = before.get(key)
        if previous is None:
            found.append(Change("new service", owner, None, job))
        elif previous[1].job_id != job.job_id:
            found.append(Change("new job", owner, previous[1], job))
        elif previous[1].status != job.status:
            found.append(Change("status", owner, previous[1], job))
    for key in before.keys() - after.keys():
        owner, job = before[key]
        found.append(Change("gone", owner, job, None))
    return found


def change_row(change: Change, at: datetime) -> dict[str, Any]:
    return {
        "time": format_time(at),
        "change": change.kind,
        "customerName": change.customer.name,
        **job_row(change.job),
        "previousStatus": None if change.before is None else change.before.status.name,
        "previousJobId": None if change.before is None else change.before.job_id,
    }


#: Errors that another poll will not mend: the credentials or the permissions.
FATAL_TO_WATCH = (OAuthError, ConfigurationError, AuthenticationError, PermissionDeniedError)


class ChangePrinter:
    """Prints changes as they come: a line each, a JSON object per line, or CSV rows."""

    def __init__(self, output: Format) -> None:
        self.output = output
        self._csv: csv.DictWriter[str] | None = None

    def print(self, row: dict[str, Any]) -> None:
        if self.output is Format.json:
            sys.stdout.write(json.dumps(row) + "\n")
        elif self.output is Format.csv:
            if self._csv is None:
                self._csv = csv.DictWriter(sys.stdout, fieldnames=list(row), lineterminator="\n")
                self._csv.writeheader()
            self._csv.writerow({key: _csv_value(value) for key, value in row.items()})
        else:
            previous = f"{row['previousStatus']} → " if row["previousStatus"] else ""
            job = f"  [dim]{row['jobId']}[/dim]" if row["jobId"] else ""
            console.print(
                f"{_time_text(row['time'])}  [bold]{_customer_text(row)}[/bold]"
                f"  {row['jobType']} / {row['jobModule']}  {row['change']}:"
                f" {previous}{_status_text(row)}{job}",
                highlight=False,
            )
        sys.stdout.flush()


@client.command("watch")
def watch(
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between polls.")
    ] = 60.0,
    count: Annotated[
        int | None,
        typer.Option("--count", min=1, help="Stop after this many polls (default: never)."),
    ] = None,
    customer: CustomersOption = None,
    job_type: TypeOption = None,
    job_module: ModuleOption = None,
    profile: ProfileOption = None,
    api: ApiOption = Api.v3,
    output: FormatOption = Format.table,
) -> None:
    """Poll every customer's services and print what changes.

    A change is a new job (another job id), a status change, or a service added or gone.
    The first poll sets the baseline; a poll that fails is reported and the next one tries
    again.
    """
    type_code = code(JOB_TYPES, job_type, "--type")
    module_code = code(JOB_MODULES, job_module, "--module")
    printer = ChangePrinter(output)

    async def poll(chosen: AsyncV3 | AsyncModern) -> dict[ServiceKey, tuple[Customer, Job]]:
        owners = await chosen_customers(chosen, customer or [])
        found = await jobs_of(chosen, owners, job_type=type_code, job_module=module_code)
        return snapshot(found)

    async def work() -> None:
        async with connected(profile) as partner:
            chosen = generation(partner, api)
            current = await poll(chosen)
            errors.print(
                f"watching {plural(len(current), 'service')} every {interval:g} s (Ctrl-C to stop)",
                style="dim",
            )
            polls = 1
            while count is None or polls < count:
                await asyncio.sleep(interval)
                polls += 1
                try:
                    latest = await poll(chosen)
                except FATAL_TO_WATCH:
                    raise
                except BackupJobsError as error:
                    errors.print(f"[yellow]poll failed, trying again:[/yellow] {error}")
                    continue
                at = datetime.now(UTC)
                for change in changes(current, latest):
                    printer.print(change_row(change, at))
                current = latest

    run(work())
