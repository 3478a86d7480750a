"""``serve`` and ``demo`` check the address they will listen on before changing anything."""

import asyncio
import socket
import sqlite3
import subprocess
from datetime import UTC, datetime

import pytest

from backupjobs.cli.demo import seed_demo
from backupjobs.settings import Settings
from tests.processes import BACKUPJOBS, environment, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def taken_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def start(tmp_path, *args, **env):
    base = environment("")
    del base["BACKUPJOBS_DATABASE_URL"]
    return subprocess.run(
        [*BACKUPJOBS, *args],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_a_taken_port_is_one_line_and_changes_nothing(tmp_path, taken_port, command):
    done = start(tmp_path, command, "--port", str(taken_port))
    assert done.returncode == 1
    assert done.stderr == (
        f"error: cannot listen on 127.0.0.1:{taken_port}: the port is already in use (another "
        f"backupjobs, or another program); choose another port with --port (e.g. --port "
        f"{taken_port + 1}) or BACKUPJOBS_PORT\n"
    )
    assert done.stdout == ""
    assert not (tmp_path / "backupjobs.db").exists()  # no migration, no demo data


def test_a_taken_port_from_the_environment_is_reported_the_same(tmp_path, taken_port):
    done = start(tmp_path, "serve", BACKUPJOBS_PORT=str(taken_port))
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{taken_port}" in done.stderr
    assert "BACKUPJOBS_PORT" in done.stderr and "Traceback" not in done.stderr


def test_an_address_not_of_this_machine_names_the_host_options(tmp_path):
    done = start(tmp_path, "serve", "--host", "192.0.2.1", "--port", str(free_port()))
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot listen on 192.0.2.1:")
    assert "--host or BACKUPJOBS_HOST" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_a_demo_made_before_keeps_its_secret_when_the_port_is_taken(tmp_path, taken_port):
    config = Settings(database_url=f"sqlite:///{tmp_path / 'backupjobs.db'}")
    asyncio.run(seed_demo(config, days=1, now=datetime.now(UTC)))
    secrets = "SELECT id FROM app_secrets"
    with sqlite3.connect(tmp_path / "backupjobs.db") as db:
        before = db.execute(secrets).fetchall()
    done = start(tmp_path, "demo", "--port", str(taken_port))
    assert done.returncode == 1
    with sqlite3.connect(tmp_path / "backupjobs.db") as db:
        assert db.execute(secrets).fetchall() == before
