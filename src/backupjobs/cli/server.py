"""``serve`` and ``demo``: run the API on granian."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import tempfile
from datetime import UTC, datetime
from typing import Annotated

import typer
from granian import Granian
from granian.constants import Interfaces

from backupjobs.auth.keys import ensure_signing_key
from backupjobs.cli.common import console, fail, reported_errors, settings
from backupjobs.cli.demo import print_walkthrough, seed_demo
from backupjobs.settings import Settings
from backupjobs.store.database import Database

HostOption = Annotated[
    str | None,
    typer.Option("--host", help="Address to listen on (default: BACKUPJOBS_HOST, or 127.0.0.1)."),
]
PortOption = Annotated[
    int | None,
    typer.Option(
        "--port", min=0, max=65535, help="Port to listen on (default: BACKUPJOBS_PORT, or 8000)."
    ),
]
WorkersOption = Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")]


def _configured(host: str | None, port: int | None) -> Settings:
    config = settings()
    changes: dict[str, object] = {}
    if host is not None:
        changes["host"] = host
    if port is not None:
        changes["port"] = port
    return config.with_changes(**changes) if changes else config


def check_address(config: Settings) -> None:
    """Exit with one line on stderr if the server could not listen where it is told to:
    checked before anything changes (no migration, no new secret)."""
    where = f"{config.host}:{config.port}"
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            config.host, config.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        # As the server will: SO_REUSEADDR, so that a port left in TIME_WAIT is not "taken".
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except socket.gaierror as error:
        raise fail(
            f"cannot listen on {where}: {error.strerror}; choose another address with "
            "--host or BACKUPJOBS_HOST"
        ) from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise fail(
                f"cannot listen on {where}: the port is already in use (another backupjobs, "
                f"or another program); choose another port with --port (e.g. --port "
                f"{config.port + 1}) or BACKUPJOBS_PORT"
            ) from None
        raise fail(
            f"cannot listen on {where}: {error.strerror}; choose another address with --host "
            "or BACKUPJOBS_HOST, or another port with --port or BACKUPJOBS_PORT"
        ) from None


async def _prepare(config: Settings) -> None:
    """Migrate and create the first signing key once, before any worker starts."""
    db = Database(config.database_url, pool_size=1)
    try:
        await db.migrate()
        await ensure_signing_key(db, now=datetime.now(UTC))
    finally:
        await db.dispose()


def run_server(config: Settings, workers: int) -> None:
    with reported_errors():
        asyncio.run(_prepare(config))
    # Workers are fresh processes: they read the same settings from the environment.
    os.environ.update(config.to_env())
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="backupjobs-metrics-")
    console.print(
        f"backupjobs on {config.public_url} ({workers} worker{'s' * (workers > 1)}), "
        f"database {Database(config.database_url).describe()}; docs at {config.public_url}/docs"
    )
    Granian(
        "backupjobs.server:application",
        factory=True,
        address=config.host,
        port=config.port,
        interface=Interfaces.ASGI,
        workers=workers,
        log_access=False,
    ).serve()


def serve(host: HostOption = None, port: PortOption = None, workers: WorkersOption = 1) -> None:
    """Serve the API."""
    config = _configured(host, port)
    check_address(config)
    run_server(config, workers)


def demo(
    host: HostOption = None,
    port: PortOption = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Days of history.")] = 21,
) -> None:
    """Create a demo partner with customers, jobs and an app; print its credentials; serve."""
    config = _configured(host, port)
    check_address(config)
    with reported_errors():
        credentials = asyncio.run(seed_demo(config, days=days, now=datetime.now(UTC)))
    print_walkthrough(config, credentials)
    run_server(config, 1)
