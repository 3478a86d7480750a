"""The history feed's report sets read from ``backupjobs serve`` by independent OData
consumers: the npm one (@odata/client, odata-csdl, odata-openapi; the node project in
``odata_node/``), python-odata (PyPI), and Power Query's request sequence."""

import json
import subprocess
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlencode

import httpx
import pytest
import requests
from odata import ODataService

from tests.api.test_odata_client import NODE_PROJECT, POWER_QUERY_HEADERS, _node_or_skip
from tests.processes import Operator, cli_json, environment, running_server
from tests.world import job

pytestmark = pytest.mark.slow

READ_AND_INGEST = ("partner.jobs.read.all", "elements.jobs.write.all")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server with two customers: "Durable Customer" (a failed job yesterday) and "Zulu
    Customer" (a finished job in 2025)."""
    folder = tmp_path_factory.mktemp("history")
    env = environment(f"sqlite:///{folder / 'history.db'}")
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
    with running_server(env, folder / "server.log") as server:
        headers = {"Authorization": f"Bearer {operator.token(server.url)}"}
        stored = httpx.post(f"{server.url}/api/v1/ingest/jobs", json=records, headers=headers)
        assert stored.status_code == 200, stored.text
        yield SimpleNamespace(
            url=server.url, operator=operator, first=first, second=second, yesterday=yesterday
        )


def test_an_npm_odata_consumer_reads_the_report_sets(served):
    node, npm = _node_or_skip()
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_PROJECT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    operator = served.operator
    ran = subprocess.run(
        [node, "history_consumer.js", served.url, operator.client_id, operator.client_secret,
         served.first],
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
    assert [d for d, _, failed in days if failed] == [served.yesterday.date().isoformat()]
    assert "date is Edm.Date" in observed["refused"]


def test_python_odata_reads_the_report_sets(served):
    session = requests.Session()
    session.auth = (served.operator.client_id, served.operator.client_secret)
    history = ODataService(
        f"{served.url}/api/v1/odata/", reflect_entities=True, session=session, quiet_progress=True
    )
    Customer = history.entities["Customers"]
    failed = history.query(Customer).filter(Customer.failingServices > 0).all()
    assert [(c.customerName, c.jobStatusName) for c in failed] == [("Durable Customer", "Failed")]
    Day = history.entities["DailyOutcomes"]
    days = history.query(Day).filter(Day.jobsFailed >= 1).all()
    assert [(str(d.customerId), d.jobs) for d in days] == [(served.first, 1)]


def test_the_power_query_sequence_on_the_report_sets(served):
    operator = served.operator
    auth = httpx.BasicAuth(operator.client_id, operator.client_secret)
    with httpx.Client(base_url=served.url, headers=POWER_QUERY_HEADERS, auth=auth) as power_query:
        root = power_query.get("/api/v1/odata")
        assert [s["url"] for s in root.json()["value"]] == ["Jobs", "Customers", "DailyOutcomes"]
        metadata = power_query.get("/api/v1/odata/$metadata", headers={"Accept": "application/xml"})
        assert b"Backupjobs.History.DailyOutcome" in metadata.content
        # A 60-day window of days in Tokyo, paged by the service.
        today = datetime.now(UTC).date()
        window = f"date ge {today - timedelta(days=59)} and date lt {today + timedelta(days=1)}"
        url: str | None = "/api/v1/odata/DailyOutcomes?" + urlencode(
            {"tz": "Asia/Tokyo", "$filter": window}
        )
        rows, pages = [], 0
        while url:
            page = power_query.get(url, headers={"Prefer": "odata.maxpagesize=50"})
            assert page.status_code == 200, page.text
            assert page.headers["odata-version"] == "4.0"
            rows += page.json()["value"]
            url, pages = page.json().get("@odata.nextLink"), pages + 1
        assert (len(rows), pages) == (2 * 60, 3)
        assert len({(row["customerId"], row["date"]) for row in rows}) == 2 * 60
        assert sum(row["jobsFailed"] for row in rows) == 1
