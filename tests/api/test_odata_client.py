"""The Modern feeds over real HTTP: ``backupjobs serve`` (granian) and a real OData v4 client.

python-odata reads ``$metadata``, builds its entity classes from it, and reads the customer
and job feeds through them, following ``@odata.nextLink`` as any OData client does.
"""

import socket
from types import SimpleNamespace

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
    env = environment(f"sqlite:///{folder / 'odata.db'}")
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
        yield SimpleNamespace(url=server.url, headers=headers, first=first, second=second)


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
