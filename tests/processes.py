"""Real server processes for tests that need them: ``backupjobs serve`` on a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BACKUPJOBS = [sys.executable, "-m", "backupjobs"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BACKUPJOBS_")}
    env.update({"BACKUPJOBS_DATABASE_URL": database_url, **extra})
    return env


def cli(
    env: Mapping[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BACKUPJOBS, *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli_json(env: Mapping[str, str], *args: str) -> dict[str, Any]:
    done = cli(env, *args, "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    value: dict[str, Any] = json.loads(lines[0])
    return value


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def worker_pids(self) -> list[int]:
        """The worker processes (granian's children)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill(self) -> None:
        """SIGKILL the server and its workers, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float = 60,
    *,
    path: str = "/readyz",
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout}s: {log.read_text()[-3000:]}")


@contextmanager
def running_server(
    env: Mapping[str, str],
    log: Path,
    *args: str,
    command: str = "serve",
    port: int | None = None,
    public_url: str | None = None,
) -> Iterator[Server]:
    """``public_url``: the one several servers share behind a load balancer (default theirs)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*BACKUPJOBS, command, "--port", str(port), *args],
            env={**env, "BACKUPJOBS_PUBLIC_URL": public_url or url},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=log.parent,
        )
    server = Server(process, url, log)
    try:
        wait_healthy(url, process, log)
        yield server
    finally:
        server.stop()


@dataclass
class Operator:
    """A partner with one customer and an app, made through the operator CLI."""

    env: dict[str, str]
    partner_id: str
    customer_id: str
    client_id: str
    client_secret: str

    @classmethod
    def setup(
        cls,
        env: dict[str, str],
        permissions: tuple[str, ...] = ("elements.jobs.read.all", "elements.jobs.write.all"),
    ) -> Operator:
        partner = cli_json(env, "partners", "create", "--name", "Durable MSP")["id"]
        customer = cli_json(
            env, "customers", "create", "--partner", partner, "--name", "Durable Customer"
        )["id"]
        flags = [arg for permission in permissions for arg in ("--permission", permission)]
        app = cli_json(env, "apps", "create", "--partner", partner, "--name", "engine", *flags)
        return cls(env, partner, customer, app["clientId"], app["clientSecret"])

    def token(self, url: str) -> str:
        response = httpx.post(
            f"{url}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token
