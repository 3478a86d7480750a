"""The history feed's report sets read by the npm consumer (@odata/client, odata-csdl,
odata-openapi; the node project in ``odata_node/``) from ``backupjobs serve``."""

import json
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.test_odata_client import NODE_PROJECT, _node_or_skip
from tests.processes import Operator, cli_json, environment, running_server
from tests.world import job

pytestmark = pytest.mark.slow

READ_AND_INGEST = ("partner.jobs.read.all", "elements.jobs.write.all")


def test_an_npm_odata_consumer_reads_the_report_sets(tmp_path):
    node, npm = _node_or_skip()
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_PROJECT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    env = environment(f"sqlite:///{tmp_path / 'history.db'}")
    operator = Operator.setup(env, permissions=READ_AND_INGEST)
    first = operator.customer_id
    second = cli_json(
        env, "customers", "create", "--partner", operator.partner_id, "--name", "Zulu Customer"
    )["id"]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    records = [
        job(first, "failed-1", status=3, startTime=yesterday.isoformat(),
            endTime=(yesterday + timedelta(minutes=5)).isoformat(),
            lastModifyTime=(yesterday + timedelta(minutes=5)).isoformat()),
        job(second, "fine-1"),
    ]  # fmt: skip
    with running_server(env, tmp_path / "server.log") as server:
        headers = {"Authorization": f"Bearer {operator.token(server.url)}"}
        stored = httpx.post(f"{server.url}/api/v1/ingest/jobs", json=records, headers=headers)
        assert stored.status_code == 200, stored.text
        ran = subprocess.run(
            [node, "history_consumer.js", server.url, operator.client_id,
             operator.client_secret, first],
            cwd=NODE_PROJECT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    observed = json.loads(ran.stdout)
    assert observed["entitySets"] == ["Jobs", "Customers", "DailyOutcomes"]
    assert observed["keys"] == {
        "Job": ["jobId"],
        "Customer": ["customerId"],
        "DailyOutcome": ["customerId", "date"],
    }
    assert observed["operations"]
    assert all(methods == ["get"] for methods in observed["operations"].values()), observed
    assert sorted(observed["customers"])[0].startswith("Durable Customer/")
    assert observed["customerCount"] == 2
    assert observed["failing"] == ["Durable Customer"]
    days = observed["days"]
    assert len(days) == 7 and sum(jobs for _, jobs, _ in days) == 1
    assert [d for d, _, failed in days if failed] == [yesterday.date().isoformat()]
    assert "date is Edm.Date" in observed["refused"]
