"""The ``backupjobs`` command line.

Operator commands (``partners``, ``customers``, ``services``, ``apps``, ``keys``, ``db``) work on
the database named by ``BACKUPJOBS_DATABASE_URL``; ``serve`` and ``demo`` run the API.
Partner commands (``client ...``) call the API over HTTP with an app's credentials.
"""

from __future__ import annotations

import typer

from backupjobs.cli import client, operator, server, simulate

app = typer.Typer(
    name="backupjobs",
    help="Backup-job reporting for MSP partners.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(server.serve)
app.command()(server.demo)
app.command()(simulate.simulate)
for name, group in operator.GROUPS:
    app.add_typer(group, name=name)
app.add_typer(client.client, name="client")


def main() -> None:
    app()
