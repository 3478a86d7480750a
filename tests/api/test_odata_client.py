"""The Modern feeds over real HTTP: ``backupjobs serve`` (granian) and real OData v4 clients.

python-odata (PyPI) reads ``$metadata``, builds its entity classes from it, and reads the
customer and job feeds through them, following ``@odata.nextLink`` as any OData client does.
@odata/client with the OASIS converters odata-csdl and odata-openapi (the npm registry; the
node project in ``odata_node/``) read the same. A scripted Power Query request sequence
signs in as Power BI does.
"""

import json
import os
import shutil
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import httpx
import pytest
import requests
from odata import ODataService

from backupjobs.catalog import JOB_MODULES, JOB_TYPES
from tests.processes import Operator, cli, cli_json, environment, running_server
from tests.world import job

pytestmark = pytest.mark.slow

MODERN_AND_INGEST = (
    "partner.jobs.read.all",
    "partner.customers.read.all",
    "elements.jobs.write.all",
)
#: More services than one default page holds, so that clients must follow nextLink.
MANY = 105


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server with two customers: "Durable Customer" (a placeholder service and a job)
    and "Zulu Customer" (MANY services, one job each)."""
    folder = tmp_path_factory.mktemp("odata")
    env = environment(f"sqlite:///{folder / 'odata.db'}", BACKUPJOBS_LOG_JSON="true")
    operator = Operator.setup(env, permissions=MODERN_AND_INGEST)
    first = operator.customer_id
    second = cli_json(
        env, "customers", "create", "--partner", operator.partner_id, "--name", "Zulu Customer"
    )["id"]
    enabled = cli(env, "services", "enable", "--customer", first,
                  "--job-type", "Microsoft 365", "--job-module", "SharePoint Online")  # fmt: skip
    assert enabled.returncode == 0, enabled.stderr
    services = [(t.code, m.code) for t in JOB_TYPES for m in JOB_MODULES][:MANY]
    records = [job(first, "groups-1", status=3)] + [
        job(second, f"z-{t}-{m}", jobType=t, jobModule=m) for t, m in services
    ]
    with running_server(env, folder / "server.log") as server:
        headers = {"Authorization": f"Bearer {operator.token(server.url)}"}
        stored = httpx.post(f"{server.url}/api/v1/ingest/jobs", json=records, headers=headers)
        assert stored.status_code == 200 and stored.json()["stored"] == len(records), stored.text
        yield SimpleNamespace(
            url=server.url, headers=headers, first=first, second=second, operator=operator,
            log=folder / "server.log",
        )  # fmt: skip


@pytest.mark.parametrize(
    "spelling",
    [
        "Microsoft 365/jobModule/SharePoint Online",  # as in the seed; the client sends %20
        "Microsoft%20365/jobModule/SharePoint%20Online",
        "microsoft%20365/jobModule/sharepoint%20online",
        "Microsoft+365/jobModule/SharePoint+Online",
        "Microsoft%2520365/jobModule/SharePoint%2520Online",
        "%4d%69crosoft%20365/jobModule/SharePoint%20Online",
        "7/jobModule/302",
    ],
)
def test_the_seed_request_through_the_server(served, spelling):
    response = httpx.get(
        f"{served.url}/partner/customers/{served.first}/jobs/jobType/{spelling}",
        headers=served.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "@odata.context": f"{served.url}/partner/$metadata#Collection(Portal.Api.Model.BackUpJob)",
        "value": [{
            "jobType": "Microsoft 365", "jobModule": "SharePoint Online", "status": "Not Finished",
            "jobId": "N/A", "name": "N/A", "totalCount": "0", "failedCount": "0",
            "successfulCount": "0", "skippedCount": "0", "warningCount": "0", "backupSize": "0 GB",
            "startTime": "N/A", "endTime": "N/A", "jobDuration": "N/A", "lastModifyTime": "N/A",
        }],
    }  # fmt: skip


def test_a_request_line_with_raw_spaces_is_refused(served):
    """Spaces must be sent as %20 (every HTTP client library does): a raw space splits the
    request line, which the server refuses rather than guessing the path."""
    host, port = served.url.removeprefix("http://").split(":")
    path = (
        f"/partner/customers/{served.first}/jobs/jobType/Microsoft 365/jobModule/SharePoint Online"
    )
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {served.headers['Authorization']}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request.encode())
        status_line = connection.makefile("rb").readline().decode()
    assert status_line.startswith("HTTP/1.1 400 "), status_line


@pytest.fixture
def service(served):
    session = requests.Session()
    session.headers.update(served.headers)
    return ODataService(
        f"{served.url}/partner/", reflect_entities=True, session=session, quiet_progress=True
    )


def test_python_odata_reads_the_customers(served, service):
    Customer = service.entities["Customers"]
    customers = service.query(Customer).all()
    assert [c.organization for c in customers] == ["Durable Customer", "Zulu Customer"]
    assert [str(c.id) for c in customers] == [served.first, served.second]
    assert all(isinstance(c.jobStatus, str) for c in customers)
    [second] = service.query(Customer).offset(1).limit(1).all()
    assert second.organization == "Zulu Customer"


def test_python_odata_follows_a_customer_to_its_jobs(service):
    Customer = service.entities["Customers"]
    first = service.query(Customer).first()
    jobs = first.jobs  # GET Customers(<id>)/jobs, the navigation property in $metadata
    assert [(j.jobType, j.jobModule, j.status, j.jobId) for j in jobs] == [
        ("Microsoft 365", "SharePoint Online", "Not Finished", "N/A"),
        ("Microsoft 365", "Microsoft 365 Groups", "Failed", "groups-1"),
    ]


def test_python_odata_pages_through_a_jobs_feed(served, service):
    BackUpJob = service.types["Portal.Api.Model.BackUpJob"]
    feed = type(
        "ZuluJobs", (BackUpJob,), {"__odata_collection__": f"customers/{served.second}/jobs"}
    )
    jobs = service.query(feed).all()  # two pages: the client follows @odata.nextLink
    assert len(jobs) == MANY
    assert len({j.jobId for j in jobs}) == MANY
    assert all(j.status == "Finished" and j.jobId.startswith("z-") for j in jobs)
    assert [j.jobId for j in service.query(feed).offset(MANY - 2).limit(5).all()] == [
        j.jobId for j in jobs[-2:]
    ]


def test_python_odata_top_limits_what_it_reads(served, service):
    BackUpJob = service.types["Portal.Api.Model.BackUpJob"]
    feed = type(
        "ZuluJobs", (BackUpJob,), {"__odata_collection__": f"customers/{served.second}/jobs"}
    )
    # It follows every nextLink: $top=3 is 3 rows, not every page (issue 16, defect 3).
    assert len(service.query(feed).limit(3).all()) == 3


def test_python_odata_signs_in_with_basic(served):
    session = requests.Session()
    session.auth = (served.operator.client_id, served.operator.client_secret)
    service = ODataService(
        f"{served.url}/partner/", reflect_entities=True, session=session, quiet_progress=True
    )
    Customer = service.entities["Customers"]
    assert [c.organization for c in service.query(Customer).all()] == [
        "Durable Customer", "Zulu Customer",
    ]  # fmt: skip


# --- an npm consumer ------------------------------------------------------------------

NODE_PROJECT = Path(__file__).parent / "odata_node"


def _node_or_skip():
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    if os.environ.get("CI") == "true":
        pytest.fail("node and npm are needed for the npm OData consumer (CI=true never skips)")
    pytest.skip("node and npm are not installed: the npm OData consumer cannot run")


def test_an_npm_odata_consumer_reads_the_feeds(served):
    node, npm = _node_or_skip()
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_PROJECT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    operator = served.operator
    ran = subprocess.run(
        [node, "consumer.js", served.url, operator.client_id, operator.client_secret, served.first],
        cwd=NODE_PROJECT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    observed = json.loads(ran.stdout)
    assert observed["entitySets"] == ["Customers"]
    # The OpenAPI the OASIS converter derives from $metadata offers only reads.
    assert observed["operations"], observed
    assert all(methods == ["get"] for methods in observed["operations"].values()), observed
    assert not observed["batch"]
    assert observed["customers"] == ["Durable Customer", "Zulu Customer"]
    assert observed["top"] == ["Durable Customer", "Zulu Customer"]
    assert observed["count"] == 2
    assert observed["customer"] == "Durable Customer"
    assert observed["jobs"] == [
        "Microsoft 365/SharePoint Online",
        "Microsoft 365/Microsoft 365 Groups",
    ]
    assert observed["job"] == ["groups-1", "Failed"]
    # Errors reach it as OData error objects: it shows their messages.
    assert observed["unsupported"].startswith("The query option $filter is not implemented")
    assert "the key is id, a GUID" in observed["malformed"]
    assert "unknown client, or wrong or expired secret" in observed["wrongSecret"]
    # The history feed: reads only, a folded $filter, a count.
    assert observed["historyOperations"]
    assert all(methods == ["get"] for methods in observed["historyOperations"].values())
    assert observed["historyFailed"] == ["groups-1/Failed"]
    assert observed["historyCount"] == MANY + 1


# --- Power Query ------------------------------------------------------------------------

#: What Power Query's OData.Feed sends (Power BI Desktop, Excel "From OData Feed").
POWER_QUERY_HEADERS = {
    "User-Agent": "Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)",
    "Accept": "application/json;odata.metadata=minimal;q=1.0,application/json;"
    "odata=minimalmetadata;q=0.9,application/atomsvc+xml;q=0.8,application/atom+xml;q=0.8,"
    "application/xml;q=0.7,text/plain;q=0.7",
    "OData-MaxVersion": "4.0",
    "MaxDataServiceVersion": "3.0",
    "Accept-Encoding": "gzip, deflate",
}


def test_the_power_query_request_sequence(served):
    operator = served.operator
    with httpx.Client(base_url=served.url, headers=POWER_QUERY_HEADERS) as power_query:
        # Anonymous first: the 401 tells it which credential kinds the feed takes.
        anonymous = power_query.get("/partner/Customers")
        assert anonymous.status_code == 401
        assert 'Basic realm="backupjobs"' in anonymous.headers["www-authenticate"]
        power_query.auth = httpx.BasicAuth(operator.client_id, operator.client_secret)
        root = power_query.get("/partner/")
        assert root.status_code == 200 and root.headers["odata-version"] == "4.0"
        assert [s["url"] for s in root.json()["value"]] == ["Customers"]
        metadata = power_query.get("/partner/$metadata", headers={"Accept": "application/xml"})
        assert metadata.status_code == 200
        assert metadata.headers["content-type"] == "application/xml"
        rows, url, pages = [], "/partner/Customers(" + served.second + ")/jobs", 0
        while url:  # the refresh follows @odata.nextLink to the end
            page = power_query.get(url)
            assert page.status_code == 200, page.text
            assert page.headers["content-type"] == "application/json; odata.metadata=minimal"
            rows += page.json()["value"]
            url, pages = page.json().get("@odata.nextLink"), pages + 1
        assert (len(rows), pages) == (MANY, 2)
        # A folded filter is refused as not implemented: Power Query then filters locally.
        window = "startTime ge 2026-01-01T00:00:00Z and startTime lt 2026-02-01T00:00:00Z"
        folded = power_query.get("/partner/Customers", params={"$filter": window})
        assert folded.status_code == 501
        assert folded.json()["error"]["target"] == "$filter"
    audited = [
        json.loads(line)
        for line in served.log.read_text().splitlines()
        if line.startswith("{") and "basic sign-in" in line
    ]
    assert any(line["client_id"] == operator.client_id for line in audited), audited
    assert operator.client_secret not in served.log.read_text()


# --- the history feed ---------------------------------------------------------------------


def test_python_odata_filters_the_history_feed(served):
    session = requests.Session()
    session.auth = (served.operator.client_id, served.operator.client_secret)
    history = ODataService(
        f"{served.url}/api/v1/odata/", reflect_entities=True, session=session, quiet_progress=True
    )
    Job = history.entities["Jobs"]
    failed = history.query(Job).filter(Job.status == 3).all()
    assert [(j.jobId, j.customerName, j.statusName) for j in failed] == [
        ("groups-1", "Durable Customer", "Failed"),
    ]  # fmt: skip
    zulu = history.query(Job).filter(Job.customerName == "Zulu Customer")
    assert len(zulu.all()) == MANY  # every page, by $skiptoken
    window = history.query(Job).filter(Job.startTime >= datetime(2025, 9, 11, tzinfo=UTC))
    assert len(window.filter(Job.startTime < datetime(2025, 9, 12, tzinfo=UTC)).all()) == MANY + 1
    assert history.query(Job).filter(Job.startTime >= datetime(2025, 9, 12, tzinfo=UTC)).all() == []


def test_the_power_query_incremental_refresh_sequence_on_the_history_feed(served):
    operator = served.operator
    auth = httpx.BasicAuth(operator.client_id, operator.client_secret)
    with httpx.Client(base_url=served.url, headers=POWER_QUERY_HEADERS, auth=auth) as power_query:
        root = power_query.get("/api/v1/odata")
        assert root.status_code == 200 and root.json()["value"][0]["url"] == "Jobs"
        metadata = power_query.get("/api/v1/odata/$metadata", headers={"Accept": "application/xml"})
        assert metadata.status_code == 200 and b"Backupjobs.History.Job" in metadata.content
        # What incremental refresh folds for one partition, paged by the service.
        window = "startTime ge 2025-09-11T00:00:00Z and startTime lt 2025-09-12T00:00:00Z"
        url: str | None = "/api/v1/odata/Jobs?" + urlencode({"$filter": window})
        rows, pages = [], 0
        while url:
            page = power_query.get(url, headers={"Prefer": "odata.maxpagesize=50"})
            assert page.status_code == 200, page.text
            assert page.headers["preference-applied"] == "odata.maxpagesize=50"
            rows += page.json()["value"]
            url, pages = page.json().get("@odata.nextLink"), pages + 1
        assert (len(rows), pages) == (MANY + 1, 3)
        assert len({row["jobId"] for row in rows}) == MANY + 1
        later = power_query.get(
            "/api/v1/odata/Jobs",
            params={
                "$filter": "startTime ge 2025-09-12T00:00:00Z and startTime lt 2025-09-13T00:00:00Z"
            },
        )
        assert later.json()["value"] == []
        counted = power_query.get("/api/v1/odata/Jobs", params={"$count": "true", "$top": "0"})
        assert counted.json()["@odata.count"] == MANY + 1
