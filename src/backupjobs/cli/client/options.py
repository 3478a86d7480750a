"""The options the partner commands share, and reading their values.

Credentials are never an option: they come from ``BACKUPJOBS_*`` variables or a profile
file (:mod:`backupjobs.sdk.profiles`), so that a secret cannot end up in a shell history.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

import typer

from backupjobs.catalog import CodeTable, UnknownCodeError
from backupjobs.cli.client.output import Format
from backupjobs.cli.common import fail
from backupjobs.sdk import BackupJobsError, parse_duration


class Api(StrEnum):
    v3 = "v3"
    modern = "modern"


class AttentionApi(StrEnum):
    """``attention``'s sources: this service's reports (``v1``), the vendor's generations
    (``v3``, ``modern``: each customer's latest jobs), or ``auto``: ``v1`` where the
    server has it, else ``v3``."""

    auto = "auto"
    v1 = "v1"
    v3 = "v3"
    modern = "modern"


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
    typer.Option(
        "--customer",
        help="Only this customer: its id, or its name or a part of it that names it alone, "
        "any case (repeatable).",
    ),
]


def code(table: CodeTable, value: str | None, option: str) -> int | None:
    """A code from a name or a number; numbers the catalog does not know pass through, an
    unknown name is an error with the closest names."""
    if value is None:
        return None
    text = value.strip()
    if text.isdecimal():
        return int(text)
    try:
        return table.parse(text).code
    except UnknownCodeError as error:  # ambiguous names too: the error names the codes
        raise fail(f"{option}: {error}", 2) from None


def duration(text: str, option: str) -> timedelta:
    """A positive duration written with units d, h, m, s: ``24h``, ``2d``, ``1d12h``."""
    try:
        found = parse_duration(text.strip(), option)
    except BackupJobsError:
        found = None
    if not found:
        raise typer.BadParameter(f"{text!r} is not a duration such as 24h, 2d or 1d12h")
    return found
