"""Requests per second with rate limiting off, in-process, and in Redis, over HTTP.

    .venv/bin/python -m bench.ratelimit_http [--seconds 10] [--connections 32]
                                             [--redis redis://127.0.0.1:6379/15]

One ``backupjobs serve`` worker, one app, ``wrk`` sending ``GET /healthz`` with the app's
access token: every request with a valid token is counted, and ``/healthz`` does nothing
else, so the difference between the configurations is what limiting costs per request
(the job endpoints' own work would hide it). Each configuration runs twice, interleaved,
so that a noisy neighbour on the machine shows as a spread.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import uuid
from pathlib import Path

import redis
from tests.processes import Operator, environment, running_server

WRK_SCRIPT = """
wrk.headers["Authorization"] = "Bearer {token}"
"""


def requests_per_second(url: str, token: str, seconds: int, connections: int, work: Path) -> float:
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT.format(token=token))
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    if "Non-2xx" in done.stdout:
        raise RuntimeError(f"errors during the run:\n{done.stdout}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    assert found, done.stdout
    return float(found[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--redis", help="also measure counters in this Redis")
    options = parser.parse_args()
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    configurations = {
        "off": {"BACKUPJOBS_RATE_LIMIT_APP": "0"},
        "in-process": {"BACKUPJOBS_RATE_LIMIT_APP": "1000000000"},
    }
    if options.redis:
        configurations["redis"] = {
            "BACKUPJOBS_RATE_LIMIT_APP": "1000000000",
            "BACKUPJOBS_REDIS_URL": options.redis,
            "BACKUPJOBS_REDIS_KEY_PREFIX": prefix,
        }
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        base = environment(f"sqlite:///{work / 'bench.db'}", BACKUPJOBS_LOG_LEVEL="warning")
        operator = Operator.setup(base, permissions=("elements.jobs.read.all",))
        results: dict[str, list[float]] = {name: [] for name in configurations}
        for _ in range(2):
            for name, extra in configurations.items():
                with running_server({**base, **extra}, work / f"{name}.log") as server:
                    url = f"{server.url}/healthz"
                    token = operator.token(server.url)
                    requests_per_second(url, token, 2, options.connections, work)  # warm up
                    results[name].append(
                        requests_per_second(url, token, options.seconds, options.connections, work)
                    )
    for name, runs in results.items():
        print(f"{name:>10}: " + ", ".join(f"{run:8.0f} req/s" for run in runs))
    if options.redis:
        connection = redis.Redis.from_url(options.redis)
        for key in connection.scan_iter(match=f"{prefix}*"):
            connection.delete(key)


if __name__ == "__main__":
    main()
