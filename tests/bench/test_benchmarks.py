"""Every benchmark, run at a tiny size, so that each keeps working (the figures are not
checked: benchmarks are not tests). They need PostgreSQL and wrk."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench import harness
from tests.services import IN_CI, POSTGRES_URL, require_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

TINY = {
    "pages": ["--customers", "20", "--days", "2", "--seconds", "1", "--rounds", "1",
              "--connections", "4"],
    "history": ["--customers", "20", "--long-days", "3", "--seconds", "1", "--rounds", "1",
                "--connections", "2"],
    "ingest": ["--customers", "10", "--days", "2", "--clients", "2",
               "--simulate-customers", "10", "--simulate-days", "2"],
    "memory": ["--customers", "20", "--days", "2", "--seconds", "1", "--connections", "4",
               "--ingest-customers", "5"],
    "retention": ["--customers", "20", "--days", "4", "--batches", "1"],
    "sync": ["--customers", "5"],
    "reports": ["--customers", "10", "--days", "3", "--rounds", "3", "--depth", "2"],
    "customers": ["--customers", "20", "--days", "1", "--rounds", "1"],
    "alerts": ["--customers", "10", "--days", "2", "--clients", "2", "--rounds", "1",
               "--rate", "20", "--seconds", "2", "--outage", "3"],
    "odata_history": ["--customers", "20", "--days", "3", "--seconds", "1", "--rounds", "1",
                      "--connections", "2"],
}  # fmt: skip
EXPECTED = {
    "pages": ["ratio"],
    "history": ["p50", "ratio"],
    "ingest": ["HTTP ingestion, postgresql", "HTTP ingestion, sqlite", "simulate"],
    "memory": ["1 worker(s): peak RSS", "2 worker(s): peak RSS"],
    "retention": ["a daily round", "one plain DELETE", "with an index on jobs.start_time"],
    "sync": ["first run", "unchanged run", "requests 7 vs one per page 7: met"],
    "reports": ["history", "summary of every customer", "export of the whole history"],
    "customers": ["ratio"],
    "alerts": ["ingestion with alerts", "latency p99", "outage"],
    "odata_history": ["the same jobs in both: True", "p50 ratio"],
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_benchmark_runs_at_a_tiny_size(name):
    require_server(POSTGRES_URL, 5432, "PostgreSQL")
    if shutil.which("wrk") is None:
        message = "wrk is not installed (apt-get install wrk)"
        if IN_CI:
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *TINY[name]],
        cwd=ROOT,
        env={**os.environ, "BENCH_POSTGRES_URL": POSTGRES_URL},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for expected in EXPECTED[name]:
        assert expected in done.stdout, done.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_connections_are_counted_by_the_process_holding_their_server_side():
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        accepted = [listening.accept()[0] for _ in clients]
        try:
            assert harness.connections_by_process(port, [os.getpid(), 1]) == {
                os.getpid(): 3,
                1: 0,
            }
            accepted.pop().close()
            assert harness.connections_by_process(port, [os.getpid()]) == {os.getpid(): 2}
        finally:
            for each in clients + accepted:
                each.close()
