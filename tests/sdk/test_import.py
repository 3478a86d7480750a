"""The SDK works over HTTP only: importing it loads no server code."""

import subprocess
import sys

SERVER_MODULES = (
    "backupjobs.api",
    "backupjobs.store",
    "backupjobs.auth",
    "backupjobs.cli",
    "backupjobs.settings",
    "backupjobs.wire",
    "backupjobs.simulation",
    "litestar",
    "sqlalchemy",
    "alembic",
    "granian",
    "asyncpg",
    "aiosqlite",
    "redis",
    "msgspec",
    "structlog",
)


def test_importing_the_sdk_in_a_fresh_interpreter_loads_no_server_code():
    listing = subprocess.run(
        [sys.executable, "-c", "import sys, backupjobs.sdk; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "backupjobs.sdk.client" in listing  # the check itself works
    loaded = [
        name
        for name in listing
        if any(name == server or name.startswith(server + ".") for server in SERVER_MODULES)
    ]
    assert loaded == []
    # The one piece shared with the server: the catalog of codes and names (pure data, and
    # the suggestions for a misspelled name).
    assert {name for name in listing if name.startswith("backupjobs.")} <= {
        "backupjobs.catalog",
        "backupjobs.catalog.codes",
        "backupjobs.catalog.suggestions",
        *(name for name in listing if name.startswith("backupjobs.sdk")),
    }
