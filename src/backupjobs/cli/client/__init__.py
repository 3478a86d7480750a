"""``backupjobs client ...``: the partner's command line, over the partner APIs.

Everything here goes through :mod:`backupjobs.sdk` with a partner app's credentials, from
``BACKUPJOBS_*`` environment variables or a profile file (see
:mod:`backupjobs.sdk.profiles`), never from the command line; it never touches a
database, unlike the operator commands.

    backupjobs client customers
    backupjobs client jobs Northwind --type "Microsoft 365" --format csv
    backupjobs client attention --stale-after 36h
    backupjobs client watch --interval 60
    backupjobs client history --since 7d --status failed --customer Northwind
    backupjobs client summary --since 30d
    backupjobs client export jobs.csv --since 30d

- :mod:`.commands`: the typer app ``client`` and its commands;
- :mod:`.options`: the shared options and reading their values;
- :mod:`.session`: signing in, errors as exit statuses, reading with progress;
- :mod:`.rows`, :mod:`.output`: records as rows, and rows as a table, JSON or CSV;
- :mod:`.attention`: what needs attention; :mod:`.watch`: what changed between polls;
- :mod:`.reports`: ``history``, ``summary``, ``export`` and ``attention`` from
  ``/api/v1/services`` (``--api auto`` or ``v1``), over this service's ``/api/v1`` reports.
"""

from backupjobs.cli.client import reports as _reports  # noqa: F401 - registers its commands
from backupjobs.cli.client.attention import attention_reasons
from backupjobs.cli.client.commands import client
from backupjobs.cli.client.output import Format
from backupjobs.cli.client.watch import Change, ChangePrinter, change_row, changes, snapshot

__all__ = [
    "Change",
    "ChangePrinter",
    "Format",
    "attention_reasons",
    "change_row",
    "changes",
    "client",
    "snapshot",
]
