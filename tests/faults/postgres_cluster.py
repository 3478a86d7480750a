"""A PostgreSQL server of a test's own, to stop and start (never the shared one)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import free_port
from tests.services import IN_CI


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(*command: str) -> list[str]:
    # initdb and postgres refuse to run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return list(command)


@dataclass
class PostgresCluster:
    """A cluster in a temporary folder on a free port: ``url``, ``stop()``, ``start()``."""

    folder: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        # The cluster has no TLS: without ssl=disable asyncpg asks for it first (sslmode
        # prefer), and a connection lost during that exchange while its connect is being
        # cancelled leaves a future whose exception nobody retrieves (asyncpg's
        # TLSUpgradeProto), which the test runner reports as an error of the test.
        return f"postgresql://root@127.0.0.1:{self.port}/postgres?ssl=disable"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), *args),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", str(self.folder / "server.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: sessions end with 57P01 (admin shutdown); ``immediate``: killed."""
        self._ctl("-m", mode, "-w", "stop")


@pytest.fixture
def postgres_cluster():
    binaries = _binaries()
    if binaries is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        message = "no PostgreSQL server binaries (initdb) to run a cluster of the test's own"
        if IN_CI:
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    folder = Path(tempfile.mkdtemp(prefix="backupjobs-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run(
        _as_postgres(
            str(binaries / "initdb"), "-D", str(folder / "data"), "-U", "root", "-A", "trust"
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    cluster = PostgresCluster(folder, free_port(), binaries)
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
