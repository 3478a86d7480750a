"""The output formats: rows as a table on the terminal, one JSON array, or CSV.

Tables go to stdout with a row count on stderr, so that ``-f json`` and ``-f csv`` stay
parseable and a table piped to a file is not cut to the terminal's width.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from backupjobs.cli.client.rows import NEVER_RUN
from backupjobs.cli.common import console, errors, plural
from backupjobs.wire import format_seconds, format_size


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the table format: its header and how a row's values are shown."""

    header: str
    show: Callable[[dict[str, Any]], str]
    style: str | None = None
    #: Names may wrap in a narrow terminal; codes, times and numbers stay on one line.
    wraps: bool = False


def time_text(value: str | None) -> str:
    return "" if value is None else value.replace("T", " ")


def status_text(row: dict[str, Any]) -> str:
    if row.get("jobId") is None:
        return f"[dim]{NEVER_RUN}[/dim]"
    colour = {2: "green", 3: "red", 7: "red", 4: "yellow", 1: "cyan"}.get(row["statusCode"])
    return f"[{colour}]{row['status']}[/{colour}]" if colour else str(row["status"])


def age_text(seconds: int | None) -> str:
    """Two units are enough to read an age: ``3d4h``, ``5h12m``, ``7m``."""
    if seconds is None:
        return ""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{rest // 60}m" if hours else f"{rest // 60}m"


def customer_text(row: dict[str, Any]) -> str:
    return str(row["customerName"] or row["customerId"])


def _number(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: "" if row.get(key) is None else str(row[key])


def health_text(row: dict[str, Any]) -> str:
    """A customer's jobStatus, coloured: green working, red failed or several issues."""
    colour = {1: "green", 2: "red", 4: "red", 5: "yellow", 6: "yellow", 3: "cyan"}.get(
        row["jobStatusCode"]
    )
    return f"[{colour}]{row['jobStatus']}[/{colour}]" if colour else str(row["jobStatus"] or "")


CUSTOMER_COLUMNS = (
    Column("Customer", lambda row: row["organization"] or "", "bold", wraps=True),
    Column("Health", health_text),
    Column("Owner", lambda row: row["ownerEmail"] or "", wraps=True),
    Column("Country or region", lambda row: row["countryOrRegion"] or "", wraps=True),
    Column("ID", lambda row: row["customerId"]),
)
JOB_COLUMNS = (
    Column("Type", lambda row: row["jobType"], wraps=True),
    Column("Module", lambda row: row["jobModule"], wraps=True),
    Column("Status", status_text),
    Column("Started (UTC)", lambda row: time_text(row["startTime"])),
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
    Column("Customer", customer_text, "bold", wraps=True),
    Column("Type", lambda row: row["jobType"], wraps=True),
    Column("Module", lambda row: row["jobModule"], wraps=True),
    Column("Reason", lambda row: ", ".join(row["reasons"]), "bold"),
    Column("Status", status_text),
    Column("Started (UTC)", lambda row: time_text(row["startTime"])),
    Column("Age", lambda row: age_text(row["ageSeconds"])),
    Column("Failed", _number("failedCount")),
    Column("Job ID", lambda row: row["jobId"] or "", "dim"),
)


def csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return value


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[Column], output: Format) -> None:
    """Print rows as a table, one JSON array, or CSV with a header (empty for None)."""
    if output is Format.json:
        sys.stdout.write(json.dumps(list(rows), indent=2) + "\n")
    elif output is Format.csv:
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({key: csv_value(value) for key, value in row.items()} for row in rows)
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
