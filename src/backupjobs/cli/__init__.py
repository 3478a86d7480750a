"""The ``backupjobs`` command line.

Operator commands (``partners``, ``customers``, ``services``, ``apps``, ``keys``, ``db``) work on
the database named by ``BACKUPJOBS_DATABASE_URL``; ``serve`` and ``demo`` run the API.
Partner commands (``client ...``) call the API over HTTP with an app's credentials.

``pip install backupjobs`` brings the partner commands only; the others need the server's
packages (``pip install 'backupjobs[server]'``) and, without them, say so in one line.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from backupjobs.cli import client
from backupjobs.cli.common import fail

SERVER_INSTALL = "pip install 'backupjobs[server]'"
#: What a server command answers when the server's packages are not installed.
SERVER_HINT = f"this command needs the server: {SERVER_INSTALL}"
#: The commands and groups that run or manage the server, in the order ``--help`` lists them.
SERVER_COMMANDS = (
    "serve", "demo", "simulate", "db", "partners", "customers", "services", "apps", "keys",
    "sync",
)  # fmt: skip

app = typer.Typer(
    name="backupjobs",
    help="Backup-job reporting for MSP partners.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def add_server_commands(root: typer.Typer) -> None:
    """Register the operator and server commands, or stand-ins that print
    :data:`SERVER_HINT` when the ``server`` extra is not installed."""
    try:
        from backupjobs.cli import operator, server, simulate  # noqa: PLC0415
    except ModuleNotFoundError as missing:
        if (missing.name or "backupjobs").partition(".")[0] == "backupjobs":
            raise  # our own code is broken, not the install
        for name in SERVER_COMMANDS:
            root.command(
                name,
                help=escape(f"Needs the server: {SERVER_INSTALL}."),
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                add_help_option=False,
            )(needs_the_server)
        return
    root.command()(server.serve)
    root.command()(server.demo)
    root.command()(simulate.simulate)
    for name, group in operator.GROUPS:
        root.add_typer(group, name=name)


def needs_the_server() -> None:
    raise fail(SERVER_HINT, 2)


add_server_commands(app)
app.add_typer(client.client, name="client")


def main() -> None:
    app()
