"""A database outage under requests logs its start, its end and a summary at most every
30 s: a handful of lines, not one per refused request (counted in a real server's log)."""

import time

import httpx
import pytest

from tests.faults.postgres_cluster import postgres_cluster  # noqa: F401 - a fixture
from tests.processes import Operator, environment, running_server

pytestmark = pytest.mark.slow

REFUSED = 300


def test_an_outage_logs_its_start_and_end_not_each_request(postgres_cluster, tmp_path):  # noqa: F811
    env = environment(postgres_cluster.url, BACKUPJOBS_DATABASE_TIMEOUT="2")
    operator = Operator.setup(env, permissions=("elements.customers.read.all",))
    log = tmp_path / "server.log"
    with running_server(env, log) as server:
        headers = {"Authorization": f"Bearer {operator.token(server.url)}"}
        customers = f"{server.url}/partner/external/v3/general/customers/batch"
        assert httpx.post(customers, headers=headers).status_code == 200
        postgres_cluster.stop("fast")
        statuses = [
            httpx.post(customers, headers=headers, timeout=10).status_code for _ in range(REFUSED)
        ]
        statuses += [httpx.get(f"{server.url}/readyz", timeout=10).status_code for _ in range(20)]
        assert set(statuses) == {503}
        postgres_cluster.start()
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "not ready again"
            time.sleep(0.2)
        assert httpx.post(customers, headers=headers).status_code == 200
        time.sleep(2)  # the probe's line
    lines = log.read_text().splitlines()
    outage = [line for line in lines if "database unavailable" in line]
    assert len(outage) == 1, outage[:5]
    assert sum("database available again" in line for line in lines) == 1
    assert sum("change feed lost" in line for line in lines) <= 1
    warnings = [line for line in lines if "warning" in line.lower()]
    assert len(warnings) <= 5, warnings[:10]
