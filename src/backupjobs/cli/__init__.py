"""The ``backupjobs`` command line.

Operator commands (``partners``, ``customers``, ``services``, ``apps``, ``keys``, ``db``) work on
the database named by ``BACKUPJOBS_DATABASE_URL``; ``serve`` and ``demo`` run the API.
Partner commands (``client ...``) call the API over HTTP with an app's credentials.
"""

from __future__ import annotations

import typer

from backupjobs.cli import client, server, simulate
from backupjobs.cli.operator import apps, customers, db, keys, partners, services

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
app.add_typer(db.group, name="db")
app.add_typer(partners.group, name="partners")
app.add_typer(customers.group, name="customers")
app.add_typer(services.group, name="services")
app.add_typer(apps.group, name="apps")
app.add_typer(keys.group, name="keys")
app.add_typer(client.client, name="client")


def main() -> None:
    app()
