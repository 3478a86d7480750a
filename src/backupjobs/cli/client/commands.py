"""The ``backupjobs client`` commands: each reads its options, calls the API through the
SDK, and prints rows in the format asked for."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES
from backupjobs.cli.client.attention import FAILED_STATUSES, attention_rows
from backupjobs.cli.client.options import (
    Api,
    ApiOption,
    AttentionApi,
    CustomersOption,
    FormatOption,
    ModuleOption,
    ProfileOption,
    TypeOption,
    code,
    duration,
)
from backupjobs.cli.client.output import (
    ATTENTION_COLUMNS,
    CUSTOMER_COLUMNS,
    JOB_COLUMNS,
    Format,
    emit,
)
from backupjobs.cli.client.rows import customer_row, job_row
from backupjobs.cli.client.session import (
    all_customers,
    chosen_customers,
    connected,
    customer_id,
    every_page,
    generation,
    jobs_of,
    run,
)
from backupjobs.cli.client.watch import ChangePrinter, Snapshot, snapshot, watch_changes
from backupjobs.cli.client.webhooks import group as webhooks_group
from backupjobs.cli.common import console
from backupjobs.sdk import AsyncClient, ClientCertificate, Customer, Job, load_profile

client = typer.Typer(
    help=(
        "Partner commands: customers and backup jobs through the v3 or Modern API, as a "
        "partner's app. Credentials come from BACKUPJOBS_API_URL, BACKUPJOBS_CLIENT_ID and "
        "BACKUPJOBS_CLIENT_SECRET (or BACKUPJOBS_CLIENT_KEY and BACKUPJOBS_CLIENT_CERTIFICATE), "
        "or from a profile file (--profile); never from the command line."
    ),
    no_args_is_help=True,
)
client.add_typer(webhooks_group, name="webhooks")


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
    """List the customers the app sees, by name, with their backup health (jobStatus)."""

    async def work() -> list[Customer]:
        async with connected(profile) as partner:
            return await all_customers(generation(partner, api))

    emit([customer_row(c) for c in run(work())], CUSTOMER_COLUMNS, output)


@client.command("jobs")
def jobs(
    customer: Annotated[
        str,
        typer.Argument(
            help="The customer: its id, or its name or a part of it that names it alone "
            "('Northwind' for 'Northwind Traders'), any case.",
            show_default=False,
        ),
    ],
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
            listing = chosen.jobs(
                await customer_id(chosen, customer), job_type=type_code, job_module=module_code
            )
            return await every_page(listing, "jobs")

    emit([job_row(job) for job in run(work())], JOB_COLUMNS, output)


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
    api: Annotated[
        AttentionApi,
        typer.Option(
            "--api",
            help="v1: this service's /api/v1/services, one request for every customer "
            "(stale: no successful job within --stale-after); v3 or modern: each customer's "
            "latest jobs through the vendor's API (stale: no job started within it); auto: "
            "v1 if the server answers it (not 404), else v3, and v3 with --status.",
        ),
    ] = AttentionApi.auto,
    output: FormatOption = Format.table,
) -> None:
    """Every customer's services that failed, are stale, or never ran: failures first."""
    threshold = duration(stale_after, "--stale-after")
    if api is AttentionApi.auto and status:
        api = AttentionApi.v3  # which statuses count as failed: /api/v1 decides its own
    if api in (AttentionApi.auto, AttentionApi.v1):
        from backupjobs.cli.client.reports import attention_from_reports  # noqa: PLC0415

        fall_back = api is AttentionApi.auto
        if attention_from_reports(profile, threshold, customer, output, fall_back=fall_back):
            return
        api = AttentionApi.v3  # the vendor's API: no /api/v1/services
    failed = frozenset(
        code_
        for name in (status or FAILED_STATUSES)
        if (code_ := code(STATUSES, name, "--status")) is not None
    )

    async def work() -> list[tuple[Customer, list[Job]]]:
        async with connected(profile) as partner:
            chosen = generation(partner, Api(api.value))
            return await jobs_of(chosen, await chosen_customers(chosen, customer or []))

    now = datetime.now(UTC)
    found = attention_rows(run(work()), now=now, stale_after=threshold, failed=failed)
    emit(found, ATTENTION_COLUMNS, output)


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

    async def work() -> None:
        async with connected(profile) as partner:
            chosen = generation(partner, api)

            async def poll() -> Snapshot:
                owners = await chosen_customers(chosen, customer or [])
                found = await jobs_of(chosen, owners, job_type=type_code, job_module=module_code)
                return snapshot(found)

            await watch_changes(poll, printer, interval=interval, count=count)

    run(work())
