"""``backupjobs sync``: mirror a partner's vendor tenant (upstream sync, SPEC §10.7).

An upstream is the vendor's API base URL, its token URL, an app's client id and a secret
file (or a certificate and key file), the local partner it feeds and an interval. The
files are read at each run: the secret is never stored in the database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import httpx
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Column, Table
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
    listed_plainly,
    minute_text,
    now,
    parse_uuid,
    plural,
    reading,
    said,
    settings,
    with_database,
    writing,
)
from backupjobs.log import configure_logging
from backupjobs.model.durations import parse_duration as parse_iso_duration
from backupjobs.sdk.errors import WireFormatError
from backupjobs.sdk.parsing import parse_duration
from backupjobs.store import upstreams
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.upstreams import RunInfo, Upstream
from backupjobs.sync import RunOutcome, SyncOptions, keep_syncing, run_upstream

group = typer.Typer(
    help="Mirror a partner's vendor tenant: upstreams, their runs.", no_args_is_help=True
)
NameArgument = Annotated[str, typer.Argument(help="The upstream's name.")]
PartnerOption = Annotated[
    str | None,
    typer.Option("--partner", help="The partner's id (when two partners use the name)."),
]
#: The shortest interval: a run reads every customer, so less would mostly wait on itself.
MIN_INTERVAL = timedelta(seconds=10)


def parse_interval(text: str) -> timedelta:
    """``15m``, ``1h30m``, ``90s`` or ISO 8601 (``PT15M``); at least :data:`MIN_INTERVAL`."""
    try:
        interval = (
            parse_iso_duration(text) if text.upper().startswith("P") else parse_duration(text)
        )
    except (ValueError, WireFormatError):
        interval = None
    if interval is None or interval < MIN_INTERVAL:
        raise fail(
            f"--interval must be a duration of at least 10s such as 15m, 1h or PT15M, not {text!r}",
            2,
        )
    return interval


def _url(value: str, option: str) -> str:
    try:
        parsed = httpx.URL(value)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise fail(f"{option} must be an http(s) URL, not {value!r}", 2)
    return value.rstrip("/")


def _readable(value: str, option: str) -> str:
    path = Path(value).expanduser()
    if not path.is_file():
        raise fail(f"{option}: no file {value!r}", 2)
    try:
        path.read_bytes()
    except OSError as error:
        raise fail(f"{option}: cannot read {value!r}: {error.strerror}", 2) from None
    return str(path.resolve())


def _duration_text(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"


def _upstream_json(upstream: Upstream) -> dict[str, Any]:
    return {
        "partnerId": str(upstream.partner_id),
        "name": upstream.name,
        "baseUrl": upstream.base_url,
        "tokenUrl": upstream.token_url,
        "clientId": upstream.client_id,
        "secretFile": upstream.secret_file,
        "certFile": upstream.cert_file,
        "keyFile": upstream.key_file,
        "intervalSeconds": upstream.interval_seconds,
        "interval": _duration_text(upstream.interval_seconds),
        "createdAt": isoformat(upstream.created_at),
    }


def _run_json(run: RunInfo) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "status": run.status,
        "startedAt": isoformat(run.started_at),
        "endedAt": isoformat(run.ended_at),
        "customers": run.customers,
        "rowsRead": run.rows_read,
        "jobsNew": run.jobs_new,
        "jobsUpdated": run.jobs_updated,
        "errors": run.errors,
        "requests": run.requests,
    }


@group.command("add")
def add(
    partner: Annotated[str, typer.Option("--partner", help="The local partner it feeds (id).")],
    name: Annotated[str, typer.Option("--name", help="A name for this upstream.")],
    base_url: Annotated[str, typer.Option("--base-url", help="The vendor API's base URL.")],
    token_url: Annotated[str, typer.Option("--token-url", help="The vendor's token URL.")],
    client_id: Annotated[str, typer.Option("--client-id", help="The vendor app's client id.")],
    secret_file: Annotated[
        str | None, typer.Option("--secret-file", help="A file holding the client secret.")
    ] = None,
    cert: Annotated[
        str | None, typer.Option("--cert", help="The app's certificate (PEM file).")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Its private key (PEM file).")] = None,
    interval: Annotated[
        str, typer.Option("--interval", help="Time between runs: 15m, 1h, PT30M.")
    ] = "15m",
    as_json: JsonFlag = False,
) -> None:
    """Add an upstream: the vendor tenant to mirror into a partner."""
    partner_id = parse_uuid(partner, "--partner")
    if (secret_file is None) == (cert is None and key is None):
        raise fail("give either --secret-file, or --cert and --key", 2)
    if secret_file is None and (cert is None or key is None):
        raise fail("--cert and --key go together: give both", 2)
    try:
        upstream_name = upstreams.check_name(name)
    except ValueError as error:
        raise fail(f"--name: {error}", 2) from None
    if not client_id.strip():
        raise fail("--client-id must not be blank", 2)
    upstream = Upstream(
        partner_id=partner_id,
        name=upstream_name,
        base_url=_url(base_url, "--base-url"),
        token_url=_url(token_url, "--token-url"),
        client_id=client_id.strip(),
        secret_file=_readable(secret_file, "--secret-file") if secret_file else None,
        cert_file=_readable(cert, "--cert") if cert else None,
        key_file=_readable(key, "--key") if key else None,
        interval_seconds=int(parse_interval(interval).total_seconds()),
        created_at=now(),
    )

    writing(lambda connection: upstreams.add_upstream(connection, upstream))
    said(
        as_json,
        _upstream_json(upstream),
        f"Added upstream [bold]{upstream.name}[/bold] for partner {partner_id}: "
        f"{upstream.base_url}, every {_duration_text(upstream.interval_seconds)}",
    )


@group.command("list")
def list_upstreams(
    partner: Annotated[str | None, typer.Option("--partner", help="Only this partner's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Upstreams, by name."""
    partner_id = parse_uuid(partner, "--partner") if partner else None

    found = reading(lambda connection: upstreams.list_upstreams(connection, partner_id=partner_id))
    if listed_plainly(found, as_json, "upstreams", _upstream_json, "No upstreams."):
        return
    table = Table(
        "name",
        id_column("partner"),
        Column("base URL", overflow="fold", min_width=24),
        Column("client id", overflow="fold", min_width=24),
        "every",
        box=None,
    )
    for upstream in found:
        table.add_row(
            Text(upstream.name),
            str(upstream.partner_id),
            Text(upstream.base_url),
            Text(upstream.client_id),
            _duration_text(upstream.interval_seconds),
        )
    console.print(table)


def _find(database: Database, name: str, partner: str | None) -> Any:
    partner_id = parse_uuid(partner, "--partner") if partner else None

    async def find() -> Upstream:
        async with database.read() as connection:
            return await upstreams.find_upstream(connection, name, partner_id=partner_id)

    return find()


@group.command("show")
def show(name: NameArgument, partner: PartnerOption = None, as_json: JsonFlag = False) -> None:
    """An upstream: its configuration, latest runs, the last run's errors, customers gone."""

    async def work(
        database: Database,
    ) -> tuple[Upstream, list[RunInfo], list[tuple[UUID | None, datetime, str]], list[UUID]]:
        upstream = await _find(database, name, partner)
        async with database.read() as connection:
            latest = await upstreams.runs(connection, upstream, limit=10)
            problems = (
                await upstreams.run_errors(connection, upstream.partner_id, latest[0].id)
                if latest
                else []
            )
            gone = await upstreams.gone_customers(connection, upstream)
        return upstream, latest, problems, gone

    upstream, latest, problems, gone = with_database(work)
    if as_json:
        emit_json(
            {
                **_upstream_json(upstream),
                "runs": [_run_json(run) for run in latest],
                "lastRunErrors": [
                    {
                        "customerId": str(customer) if customer else None,
                        "at": isoformat(at),
                        "message": message,
                    }
                    for customer, at, message in problems
                ],
                "goneCustomers": [str(customer) for customer in gone],
            }
        )
        return
    console.print(f"[bold]{escape(upstream.name)}[/bold]  partner {upstream.partner_id}")
    console.print(
        f"  {upstream.base_url}  token {upstream.token_url}  client {upstream.client_id}",
        markup=False,
    )
    credential = upstream.secret_file or f"{upstream.cert_file} + {upstream.key_file}"
    console.print(
        f"  credential {credential}, every {_duration_text(upstream.interval_seconds)}",
        markup=False,
    )
    _print_runs(latest)
    for customer, at, message in problems:
        console.print(f"  ! {minute_text(at)} {customer or 'run'}: {message}", markup=False)
    if gone:
        console.print(f"  gone upstream: {', '.join(str(c) for c in gone)}", markup=False)


def _print_runs(latest: list[RunInfo]) -> None:
    if not latest:
        console.print("  never run")
        return
    table = Table(
        "started", "status", "customers", "rows", "new", "updated", "errors", "requests", box=None
    )
    for run in latest:
        table.add_row(
            minute_text(run.started_at),
            run.status,
            *(
                str(value)
                for value in (
                    run.customers,
                    run.rows_read,
                    run.jobs_new,
                    run.jobs_updated,
                    run.errors,
                    run.requests,
                )
            ),
        )
    console.print(table)


@group.command("remove")
def remove(
    name: NameArgument,
    partner: PartnerOption = None,
    yes: YesFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove an upstream and its runs; the customers and jobs it brought stay."""

    async def look(database: Database) -> Upstream:
        found: Upstream = await _find(database, name, partner)
        return found

    upstream = with_database(look)
    confirm(f"Remove upstream {upstream.name!r} of partner {upstream.partner_id}?", yes or as_json)

    removed = writing(lambda connection: upstreams.remove_upstream(connection, upstream))
    said(
        as_json,
        {"partnerId": str(upstream.partner_id), "name": upstream.name, "runs": removed},
        f"Removed upstream {upstream.name!r} and {plural(removed, 'run')}",
        markup=False,
    )


def _outcome_json(outcome: RunOutcome) -> dict[str, Any]:
    counts = outcome.counts
    return {
        "partnerId": str(outcome.upstream.partner_id),
        "upstream": outcome.upstream.name,
        "runId": str(outcome.run_id) if outcome.run_id else None,
        "status": outcome.status,
        "busy": outcome.busy,
        "startedAt": isoformat(outcome.started_at),
        "endedAt": isoformat(outcome.ended_at),
        "customers": counts.customers,
        "rowsRead": counts.rows_read,
        "jobsNew": counts.jobs_new,
        "jobsUpdated": counts.jobs_updated,
        "errors": counts.errors,
        "requests": counts.requests,
    }


def _print_outcome(outcome: RunOutcome) -> None:
    name = outcome.upstream.name
    if outcome.busy:
        errors.print(f"{name}: another process is running it ({outcome.busy})", markup=False)
        return
    counts = outcome.counts
    seconds = (outcome.ended_at - outcome.started_at).total_seconds()
    console.print(
        f"{name}: {outcome.status} in {seconds:.1f}s: {plural(counts.customers, 'customer')}, "
        f"{plural(counts.rows_read, 'row')} read, {counts.jobs_new} new and "
        f"{counts.jobs_updated} updated jobs, {plural(counts.errors, 'error')}, "
        f"{plural(counts.requests, 'request')}",
        markup=False,
    )


@group.command("run")
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Run now, once, and exit (default: run on intervals).")
    ] = False,
    upstream_name: Annotated[
        str | None, typer.Option("--upstream", help="Only this upstream (its name).")
    ] = None,
    partner: PartnerOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the upstreams: with --once each now (exit status 1 if one did not succeed);
    without, each on its interval until interrupted."""
    config = settings()
    # The runs' log lines go to stderr: stdout is the report (one JSON object with --json).
    configure_logging(config.log_level, json=config.log_json)
    options = SyncOptions.from_settings(config)

    async def chosen(database: Database) -> list[Upstream]:
        if upstream_name is not None:
            return [await _find(database, upstream_name, partner)]
        async with database.read() as connection:
            partner_id = parse_uuid(partner, "--partner") if partner else None
            return await upstreams.list_upstreams(connection, partner_id=partner_id)

    if not once:

        async def forever(database: Database) -> None:
            keys = {(upstream.partner_id, upstream.name) for upstream in await chosen(database)}
            await keep_syncing(
                database,
                Ingestor(database),
                options,
                observe=_print_outcome,
                only=lambda upstream: (upstream.partner_id, upstream.name) in keys,
            )

        try:
            with_database(forever)
        except KeyboardInterrupt:
            raise typer.Exit(0) from None
        return

    async def work(database: Database) -> list[RunOutcome]:
        selected = await chosen(database)
        ingestor = Ingestor(database)
        outcomes = []
        show_progress = not as_json and console.is_terminal
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("customers"),
            console=console,
            disable=not show_progress,
        ) as progress:
            for upstream in selected:
                task: TaskID = progress.add_task(upstream.name, total=None)

                def report(done: int, total: int, task: TaskID = task) -> None:
                    progress.update(task, completed=done, total=total)

                outcomes.append(
                    await run_upstream(database, ingestor, upstream, options, progress=report)
                )
        return outcomes

    outcomes = with_database(work)
    if as_json:
        emit_json({"runs": [_outcome_json(outcome) for outcome in outcomes]})
    else:
        if not outcomes:
            console.print("No upstreams.")
        for outcome in outcomes:
            _print_outcome(outcome)
    if any(outcome.status != upstreams.SUCCEEDED for outcome in outcomes):
        raise typer.Exit(1)


@group.command("status")
def status(as_json: JsonFlag = False) -> None:
    """Each upstream's last run, last success, next run and who runs it now."""

    async def work(database: Database) -> list[dict[str, Any]]:
        rows = []
        async with database.read() as connection:
            for upstream in await upstreams.list_upstreams(connection):
                latest = await upstreams.runs(connection, upstream, limit=1)
                succeeded = await upstreams.last_success(connection, upstream)
                interval = timedelta(seconds=upstream.interval_seconds)
                next_run = latest[0].started_at + interval if latest else datetime.now(UTC)
                holding = (
                    upstream.lease_owner
                    if upstream.lease_until is not None and upstream.lease_until > now()
                    else None
                )
                rows.append(
                    {
                        "partnerId": str(upstream.partner_id),
                        "name": upstream.name,
                        "lastRun": _run_json(latest[0]) if latest else None,
                        "lastSuccessAt": isoformat(succeeded),
                        "nextRunAt": isoformat(next_run),
                        "runningIn": holding,
                    }
                )
        return rows

    rows = with_database(work)
    if listed_plainly(rows, as_json, "upstreams", dict, "No upstreams."):
        return
    table = Table(
        "name", "last run", "status", "new", "updated", "errors", "last success", "next", box=None
    )
    for row in rows:
        last = row["lastRun"] or {}
        table.add_row(
            Text(row["name"]),
            minute_text(_moment(last.get("startedAt"))),
            (last.get("status") or "never") + (" (now)" if row["runningIn"] else ""),
            str(last.get("jobsNew", "")),
            str(last.get("jobsUpdated", "")),
            str(last.get("errors", "")),
            minute_text(_moment(row["lastSuccessAt"])),
            minute_text(_moment(row["nextRunAt"])),
        )
    console.print(table)


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
