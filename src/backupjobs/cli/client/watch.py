"""Watching: poll every service, and print what changed since the poll before.

A change is a new job (another job id), a status change, or a service added or gone.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backupjobs.cli.client.output import (
    Format,
    csv_value,
    customer_text,
    status_text,
    time_text,
)
from backupjobs.cli.client.rows import job_row
from backupjobs.cli.common import console, errors, plural
from backupjobs.sdk import (
    AuthenticationError,
    BackupJobsError,
    ConfigurationError,
    Customer,
    Job,
    OAuthError,
    PermissionDeniedError,
)
from backupjobs.wire import format_time

ServiceKey = tuple[str, str, str]
#: Every service seen by one poll, with its customer and latest job.
Snapshot = dict[ServiceKey, tuple[Customer, Job]]

#: Errors that another poll will not mend: the credentials or the permissions.
FATAL_TO_WATCH = (OAuthError, ConfigurationError, AuthenticationError, PermissionDeniedError)


def snapshot(found: Sequence[tuple[Customer, list[Job]]]) -> Snapshot:
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


def changes(before: Snapshot, after: Snapshot) -> list[Change]:
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
            self._csv.writerow({key: csv_value(value) for key, value in row.items()})
        else:
            previous = f"{row['previousStatus']} → " if row["previousStatus"] else ""
            job = f"  [dim]{row['jobId']}[/dim]" if row["jobId"] else ""
            console.print(
                f"{time_text(row['time'])}  [bold]{customer_text(row)}[/bold]"
                f"  {row['jobType']} / {row['jobModule']}  {row['change']}:"
                f" {previous}{status_text(row)}{job}",
                highlight=False,
            )
        sys.stdout.flush()


async def watch_changes(
    poll: Callable[[], Awaitable[Snapshot]],
    printer: ChangePrinter,
    *,
    interval: float,
    count: int | None,
) -> None:
    """Poll every ``interval`` seconds (``count`` times, or until interrupted) and print
    each change. The first poll sets the baseline; a poll that fails is reported and the
    next one tries again, unless another poll cannot mend it (:data:`FATAL_TO_WATCH`)."""
    current = await poll()
    errors.print(
        f"watching {plural(len(current), 'service')} every {interval:g} s (Ctrl-C to stop)",
        style="dim",
    )
    polls = 1
    while count is None or polls < count:
        await asyncio.sleep(interval)
        polls += 1
        try:
            latest = await poll()
        except FATAL_TO_WATCH:
            raise
        except BackupJobsError as error:
            errors.print(f"[yellow]poll failed, trying again:[/yellow] {error}")
            continue
        at = datetime.now(UTC)
        for change in changes(current, latest):
            printer.print(change_row(change, at))
        current = latest
