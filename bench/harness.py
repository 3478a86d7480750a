"""What the benchmarks share: databases, servers, the simulator, tokens, wrk, reports.

Every benchmark is one command (``python -m bench.<name> --help``). Servers and the load
generator run as separate processes; the figures are printed, with the conditions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from tests.processes import Server, free_port, wait_healthy

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUA = BENCH / "lua"
BACKUPJOBS = [sys.executable, "-m", "backupjobs"]
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")

V3_JOBS = "/partner/external/v3/general/customers/{customer}/jobs"


def conditions() -> str:
    """The machine the figures come from: cores, load, and what else is busy."""
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"at start, Python {sys.version.split()[0]}"
    )


# -- databases -------------------------------------------------------------------------


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """Each process's CPU time so far (user and system, from /proc; empty elsewhere), by
    pid, with its group: PostgreSQL, the backupjobs server, this benchmark, or other."""
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        pid = int(entry.name)
        if pid == os.getpid():
            group = "this benchmark"
        elif Path(command.split(" ", 1)[0]).name.startswith("postgres"):
            group = "PostgreSQL"
        elif "backupjobs" in command:
            group = "server"
        else:
            group = "other"
        found[pid] = (group, seconds)
    return found


def _used_since(before: dict[int, tuple[str, float]]) -> Iterator[tuple[str, float]]:
    """Each process's group and the CPU seconds it used since ``before``."""
    for pid, (group, seconds) in cpu_seconds().items():
        yield group, seconds - before.get(pid, (group, 0.0))[1]


def cpu_used(before: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each group used since ``before`` (:func:`cpu_seconds`)."""
    used: dict[str, float] = {}
    for group, seconds in _used_since(before):
        used[group] = used.get(group, 0.0) + seconds
    return used


def server_split(before: dict[int, tuple[str, float]]) -> list[float]:
    """CPU seconds each server process used since ``before`` (:func:`cpu_seconds`), most
    first, those that used any to speak of: how the load fell on the workers (the
    ingestion benchmarks spread their clients' connections evenly first, ``bench.ingest``'s
    ``post_all``: a run whose connections all landed on one worker was up to a fifth
    slower or faster, whatever the code; ``docs/scaling.md``, 2026-12-06)."""
    used = (seconds for group, seconds in _used_since(before) if group == "server")
    return sorted((seconds for seconds in used if seconds >= 0.05), reverse=True)


def describe_cpu(used: dict[str, float], split: Sequence[float] = ()) -> str:
    """``used`` by group (:func:`cpu_used`), and ``split`` (:func:`server_split`) if given."""
    described = ", ".join(f"{group} {seconds:.2f} s" for group, seconds in sorted(used.items()))
    if split:
        described += " (server processes: " + " + ".join(f"{s:.2f}" for s in split) + " s)"
    return described


def connections_by_process(port: int, pids: Sequence[int]) -> dict[int, int]:
    """How many established TCP connections to ``port`` each of ``pids`` holds the server
    side of (from /proc: Linux only; zeros elsewhere)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{inode}]")
    counts = dict.fromkeys(pids, 0)
    for pid in pids:
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(descriptor) in inodes:
                    counts[pid] += 1
            except OSError:
                continue  # closed meanwhile
    return counts


def admin_sql(sql: str) -> None:
    """Run ``sql`` on the PostgreSQL server (outside any database's own connections)."""
    import asyncpg  # noqa: PLC0415 - only the PostgreSQL benchmarks need it

    async def run() -> None:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


@contextmanager
def postgres_database(keep: bool = False) -> Iterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards unless ``keep``."""
    name = f"backupjobs_bench_{uuid.uuid4().hex[:10]}"
    admin_sql(f'CREATE DATABASE "{name}"')
    url = urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl()
    try:
        yield url
    finally:
        if keep:
            print(f"kept database {url}")
        else:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="backupjobs-bench-") as folder:
        yield f"sqlite:///{folder}/backupjobs.db"


#: Rate limits far above any benchmark's load: every request is still counted (the real
#: endpoint's cost), none is refused.
UNREACHED_LIMITS = {
    f"BACKUPJOBS_RATE_LIMIT_{name}": "1000000000"
    for name in ("APP", "TOKEN_CLIENT", "TOKEN_ADDRESS")
}


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKUPJOBS_")}
    env.update(BACKUPJOBS_DATABASE_URL=database_url, BACKUPJOBS_LOG_LEVEL="warning")
    env.update(UNREACHED_LIMITS)
    env.update(extra)
    return env


# -- the simulator ---------------------------------------------------------------------


@dataclass(frozen=True)
class Simulation:
    partner_id: str
    customers: int
    jobs: int
    client_id: str
    client_secret: str
    seconds: float


def simulate(
    database_url: str, customers: int, days: int, *, seed: int = 1, now: str | None = None
) -> Simulation:
    """Run ``backupjobs simulate`` (progress bar on the terminal); its answer and time."""
    command = [
        *BACKUPJOBS,
        "simulate",
        f"--customers={customers}",
        f"--days={days}",
        f"--seed={seed}",
        "--json",
    ]
    if now:
        command.append(f"--now={now}")
    started = time.monotonic()
    done = subprocess.run(
        command, env=environment(database_url), stdout=subprocess.PIPE, text=True, check=True
    )
    seconds = time.monotonic() - started
    answer = json.loads(done.stdout)
    return Simulation(
        answer["partnerId"],
        answer["customers"],
        answer["jobs"],
        answer["clientId"],
        answer["clientSecret"],
        seconds,
    )


# -- servers ---------------------------------------------------------------------------


@contextmanager
def running(command: Sequence[str], env: dict[str, str], ready_path: str) -> Iterator[Server]:
    """``command`` (``{port}`` in it: a free port) until it answers ``ready_path``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkstemp(prefix="backupjobs-bench-", suffix=".log")[1])
    with log.open("ab") as output:
        process = subprocess.Popen(
            [arg.replace("{port}", str(port)) for arg in command],
            env={**env, "BACKUPJOBS_PUBLIC_URL": url},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, url, log)
    try:
        wait_healthy(url, process, log, path=ready_path)
        yield server
    finally:
        server.stop()
        log.unlink(missing_ok=True)


def backupjobs_server(database_url: str, workers: int = 1, **env: str) -> Any:
    """``backupjobs serve`` on a free port."""
    command = [*BACKUPJOBS, "serve", "--port", "{port}", "--workers", str(workers)]
    return running(command, environment(database_url, **env), "/readyz")


def granian_app(target: str, workers: int = 1, **env: str) -> Any:
    """Another ASGI app factory (such as the ceiling) on granian, like ``serve`` runs it."""
    command = [
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
        "--host", "127.0.0.1", "--port", "{port}", "--workers", str(workers),
        "--no-access-log", target,
    ]  # fmt: skip
    base = {k: v for k, v in os.environ.items() if not k.startswith("BACKUPJOBS_")}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH")]))
    return running(command, {**base, **env}, "/healthz")


# -- clients ---------------------------------------------------------------------------


def token(url: str, client_id: str, client_secret: str) -> str:
    response = httpx.post(
        f"{url}/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
        timeout=30,
    )
    response.raise_for_status()
    value: str = response.json()["access_token"]
    return value


def customer_ids(url: str, access_token: str) -> list[str]:
    """Every customer the token can see, through the v3 customers endpoint."""
    ids: list[str] = []
    page = 1
    while True:
        response = httpx.post(
            f"{url}/partner/external/v3/general/customers/batch",
            params={"pageIndex": page, "pageSize": 100},
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=30,
        )
        response.raise_for_status()
        rows = response.json()["data"]
        ids += [row["id"] for row in rows]
        if len(rows) < 100:
            return ids
        page += 1


# -- wrk -------------------------------------------------------------------------------


@dataclass
class Load:
    """A wrk run's figures."""

    requests_per_second: float
    requests: int
    non_2xx: int
    errors: int
    latency_ms: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        p = self.latency_ms
        return (
            f"{self.requests_per_second:,.0f} req/s ({self.requests:,} requests, "
            f"p50 {p.get('50%', 0):.2f} ms, p99 {p.get('99%', 0):.2f} ms"
            + (f", {self.non_2xx} non-2xx" if self.non_2xx else "")
            + (f", {self.errors} socket errors" if self.errors else "")
            + ")"
        )


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> Load:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    latency = {
        f"{quantile}%": _milliseconds(value)
        for quantile, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", output, re.MULTILINE)
    }
    return Load(
        rate,
        requests,
        int(non_2xx.group(1)) if non_2xx else 0,
        sum(int(n) for n in errors.groups()) if errors else 0,
        latency,
    )


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def wrk(
    url: str,
    *,
    method: str,
    path_template: str,
    customers: Sequence[str],
    tokens: Sequence[str],
    body: str = "",
    seconds: float,
    connections: int,
    threads: int = 1,
) -> Load:
    """wrk with ``bench/lua/pages.lua``: each request a random customer and token."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as data:
        data.write(
            "return {\n"
            f"  method = {lua_string(method)},\n"
            f"  path = {lua_string(path_template)},\n"
            f"  body = {lua_string(body)},\n"
            f"  customers = {{{', '.join(lua_string(c) for c in customers)}}},\n"
            f"  tokens = {{{', '.join(lua_string(t) for t in tokens)}}},\n"
            "}\n"
        )
    try:
        done = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{round(seconds)}s",
                "--latency",
                "-s",
                str(LUA / "pages.lua"),
                url,
            ],
            env={**os.environ, "BENCH_DATA": data.name},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(data.name)
    return parse_wrk(done.stdout)


# -- reports ---------------------------------------------------------------------------


def arguments(description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )


def verdict(value: float, target: float, *, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    return "meets the target" if met else "MISSES the target"
