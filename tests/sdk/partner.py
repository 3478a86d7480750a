"""A partner's world on a real ``backupjobs serve``: customers, services, jobs and apps.

The partner has three customers: Alpha (seven services with jobs from September 2025 whose
wire values are known exactly, one of them never run), Bravo (a job an hour old and one
running now) and Charlie (nothing yet). Another partner has a customer of its own. The jobs
are reported through the ingestion API, as a backup engine would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from backupjobs.provisioning import AppPlan, CustomerPlan, PartnerPlan, provision
from backupjobs.sdk import AsyncClient, Client, ClientSecret, Coded, Job
from backupjobs.store.database import Database
from tests.processes import Server, cli_json, environment, running_server
from tests.world import job, now

V3_JOBS_READ = "elements.jobs.read.all"
V3_CUSTOMERS_READ = "elements.customers.read.all"
MODERN_JOBS_READ = "partner.jobs.read.all"
MODERN_CUSTOMERS_READ = "partner.customers.read.all"
READ_PERMISSIONS = (V3_JOBS_READ, V3_CUSTOMERS_READ, MODERN_JOBS_READ, MODERN_CUSTOMERS_READ)


@dataclass(frozen=True)
class App:
    client_id: str
    secret: str

    def credential(self) -> ClientSecret:
        return ClientSecret(self.client_id, self.secret)


@dataclass
class World:
    server: Server
    env: dict[str, str]
    partner_id: str
    alpha: str
    bravo: str
    charlie: str
    stranger: str  # the other partner's customer
    reader: App  # every permission, every customer
    v3_only: App  # elements.jobs.read.all only
    alpha_only: App  # every permission, customer Alpha only
    now: datetime

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, app: App | None = None, **options: Any) -> Client:
        return Client(self.url, (app or self.reader).credential(), **options)

    def async_client(self, app: App | None = None, **options: Any) -> AsyncClient:
        return AsyncClient(self.url, (app or self.reader).credential(), **options)

    def new_app(self, *permissions: str) -> App:
        """Another app of the partner, registered through the operator CLI."""
        flags = [arg for permission in permissions for arg in ("--permission", permission)]
        made = cli_json(
            self.env, "apps", "create", "--partner", self.partner_id, "--name", "extra", *flags
        )
        return App(made["clientId"], made["clientSecret"])


GB = 1024**3

NO_COUNTS = dict.fromkeys(
    ("totalCount", "failedCount", "successfulCount", "skippedCount", "warningCount")
)

# Alpha's jobs, one per service, and what the SDK must read back from the wire.
ALPHA_RECORDS = [
    {
        "jobId": "A-SP", "jobModule": 302, "status": 3, "name": "Nightly SharePoint",
        "totalCount": 100, "failedCount": 7, "successfulCount": 90, "skippedCount": 2,
        "warningCount": 1, "backupSizeBytes": 3 * GB // 2,
        "startTime": "2025-09-11T01:00:00Z", "endTime": "2025-09-11T03:00:05Z",
        "lastModifyTime": "2025-09-11T03:00:06Z",
    },
    {
        "jobId": "A-EXO", "jobModule": 303, "status": 2, "name": None,
        "totalCount": 5, "failedCount": 0, "successfulCount": 5, "skippedCount": 0,
        "warningCount": 0, "backupSizeBytes": 512 * 1024**2,
        "startTime": "2025-09-10T22:00:00Z", "endTime": "2025-09-10T22:00:45Z",
        "lastModifyTime": "2025-09-10T22:00:45Z",
    },
    # Sub-second times: the wire cuts them, the duration counts them (the seed's 17m39s).
    {
        "jobId": "A-GROUPS", "jobModule": 304, "status": 2, "name": "Groups", **NO_COUNTS,
        "backupSizeBytes": GB, "startTime": "2025-09-11T03:21:16.8Z",
        "endTime": "2025-09-11T03:38:56.2Z", "lastModifyTime": "2025-09-11T03:38:57Z",
    },
    {
        "jobId": "A-OD", "jobModule": 305, "status": 4, "name": "OneDrive",
        "totalCount": 10, "failedCount": 0, "successfulCount": 9, "skippedCount": 0,
        "warningCount": 1, "backupSizeBytes": 9 * 1024**4 // 4,
        "startTime": "2025-09-09T00:00:00Z", "endTime": "2025-09-10T00:00:03Z",
        "lastModifyTime": "2025-09-10T00:00:03Z",
    },
    {
        "jobId": "A-GMAIL", "jobType": 11, "jobModule": 501, "status": 2, "name": "Gmail",
        **NO_COUNTS, "backupSizeBytes": 1_430_000_000, "startTime": "2025-09-11T05:00:00Z",
        "endTime": "2025-09-11T05:00:00Z", "lastModifyTime": "2025-09-11T05:00:01Z",
    },
    {
        "jobId": "A-VM", "jobType": 12, "jobModule": 356, "status": 7, "name": "Azure VMs",
        **NO_COUNTS, "backupSizeBytes": None, "startTime": None, "endTime": None,
        "lastModifyTime": "2025-09-11T06:00:00Z",
    },
]  # fmt: skip
TEAMS = (7, 308)  # enabled for Alpha, never run


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _job(**fields: Any) -> Job:
    values: dict[str, Any] = {
        "job_id": None, "name": None, "total_count": 0, "failed_count": 0,
        "successful_count": 0, "skipped_count": 0, "warning_count": 0, "backup_size": 0,
        "start_time": None, "end_time": None, "duration": None, "last_modify_time": None,
    }  # fmt: skip
    values.update(fields)
    return Job(**values)


def alpha_jobs(alpha: str, *, placeholder_status: str) -> list[Job]:
    """Alpha's services as both generations must read them, by job type then module.

    ``placeholder_status``: "None" (v3, status 0) or "Not Finished" (Modern).
    """
    m365 = Coded(7, "Microsoft 365")
    return [
        _job(
            customer_id=alpha, job_type=m365, job_module=Coded(302, "SharePoint Online"),
            status=Coded(3, "Failed"), job_id="A-SP", name="Nightly SharePoint",
            total_count=100, failed_count=7, successful_count=90, skipped_count=2,
            warning_count=1, backup_size=3 * GB // 2,
            start_time=utc("2025-09-11T01:00:00Z"), end_time=utc("2025-09-11T03:00:05Z"),
            duration=timedelta(hours=2, seconds=5), last_modify_time=utc("2025-09-11T03:00:06Z"),
        ),
        _job(
            customer_id=alpha, job_type=m365, job_module=Coded(303, "Exchange Online"),
            status=Coded(2, "Finished"), job_id="A-EXO", total_count=5, successful_count=5,
            backup_size=512 * 1024**2, start_time=utc("2025-09-10T22:00:00Z"),
            end_time=utc("2025-09-10T22:00:45Z"), duration=timedelta(seconds=45),
            last_modify_time=utc("2025-09-10T22:00:45Z"),
        ),
        _job(
            customer_id=alpha, job_type=m365, job_module=Coded(304, "Microsoft 365 Groups"),
            status=Coded(2, "Finished"), job_id="A-GROUPS", name="Groups", backup_size=GB,
            start_time=utc("2025-09-11T03:21:16Z"), end_time=utc("2025-09-11T03:38:56Z"),
            duration=timedelta(minutes=17, seconds=39),
            last_modify_time=utc("2025-09-11T03:38:57Z"),
        ),
        _job(
            customer_id=alpha, job_type=m365, job_module=Coded(305, "OneDrive"),
            status=Coded(4, "Finished with exception"), job_id="A-OD", name="OneDrive",
            total_count=10, successful_count=9, warning_count=1, backup_size=9 * 1024**4 // 4,
            start_time=utc("2025-09-09T00:00:00Z"), end_time=utc("2025-09-10T00:00:03Z"),
            duration=timedelta(days=1, seconds=3), last_modify_time=utc("2025-09-10T00:00:03Z"),
        ),
        _job(
            customer_id=alpha, job_type=m365, job_module=Coded(308, "Microsoft Teams"),
            status=Coded(0, placeholder_status),
        ),
        _job(
            customer_id=alpha, job_type=Coded(11, "Google Workspace"),
            job_module=Coded(501, "Gmail"), status=Coded(2, "Finished"), job_id="A-GMAIL",
            name="Gmail",
            # 1,430,000,000 bytes are "1.33 GB" on the wire: 1.33 x 1024^3 bytes to the nearest.
            backup_size=1_428_076_626, start_time=utc("2025-09-11T05:00:00Z"),
            end_time=utc("2025-09-11T05:00:00Z"), duration=timedelta(0),
            last_modify_time=utc("2025-09-11T05:00:01Z"),
        ),
        _job(
            customer_id=alpha, job_type=Coded(12, "IaaS PaaS"),
            job_module=Coded(356, "Azure Virtual Machine"), status=Coded(7, "Failed to start"),
            job_id="A-VM", name="Azure VMs", last_modify_time=utc("2025-09-11T06:00:00Z"),
        ),
    ]  # fmt: skip


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def bravo_records(bravo: str, now: datetime) -> list[dict[str, Any]]:
    """A SharePoint job that finished 50 minutes ago and a Groups job running for 10."""
    return [
        job(
            bravo, "B-SP", jobModule=302, status=2, startTime=_stamp(now - timedelta(hours=1)),
            endTime=_stamp(now - timedelta(minutes=50)),
            lastModifyTime=_stamp(now - timedelta(minutes=50)),
        ),
        job(
            bravo, "B-GROUPS", jobModule=304, status=1,
            startTime=_stamp(now - timedelta(minutes=10)), endTime=None,
            lastModifyTime=_stamp(now - timedelta(minutes=1)),
        ),
    ]  # fmt: skip


def ingest(url: str, app: App, records: list[dict[str, Any]]) -> None:
    token = httpx.post(
        f"{url}/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.secret,
        },
    ).json()["access_token"]
    answer = httpx.post(
        f"{url}/api/v1/ingest/jobs", json=records, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == len(records), answer.text


PARTNER = PartnerPlan(
    "Partner",
    customers=(
        CustomerPlan("Alpha", services=(TEAMS,)),
        CustomerPlan("Bravo"),
        CustomerPlan("Charlie"),
    ),
    apps=(
        AppPlan("Reader"),
        AppPlan("V3 only", frozenset({V3_JOBS_READ})),
        AppPlan("Alpha only", customers=(0,)),
    ),
)
OTHER_PARTNER = PartnerPlan(
    "Other partner", customers=(CustomerPlan("Stranger"),), apps=(AppPlan("Stranger's app"),)
)


async def populate(database_url: str) -> dict[str, Any]:
    db = Database(database_url, pool_size=1)
    try:
        await db.migrate()
        made = await provision(db, PARTNER, now=now())
        other = await provision(db, OTHER_PARTNER, now=now())
    finally:
        await db.dispose()
    reader, v3_only, alpha_only = (App(app.client_id, app.secret.value) for app in made.apps)
    return {
        "partner_id": str(made.partner_id),
        "customers": [str(c) for c in made.customer_ids],
        "reader": reader,
        "v3_only": v3_only,
        "alpha_only": alpha_only,
        "stranger": str(other.customer_ids[0]),
        "stranger_app": App(other.app.client_id, other.app.secret.value),
    }


@contextmanager
def partner_world(folder: Path, **server_env: str) -> Iterator[World]:
    """The world above on a new SQLite database, served by a real process."""
    database_url = f"sqlite:///{folder / 'partner.db'}"
    made = asyncio.run(populate(database_url))
    alpha, bravo, charlie = made["customers"]
    env = environment(database_url, **server_env)
    with running_server(env, folder / "server.log") as server:
        now = datetime.now(UTC)
        ingest(server.url, made["reader"], [job(alpha, r["jobId"], **r) for r in ALPHA_RECORDS])
        ingest(server.url, made["reader"], bravo_records(bravo, now))
        ingest(server.url, made["stranger_app"], [job(made["stranger"], "S-SP", jobModule=302)])
        yield World(
            server=server,
            env=env,
            partner_id=made["partner_id"],
            alpha=alpha,
            bravo=bravo,
            charlie=charlie,
            stranger=made["stranger"],
            reader=made["reader"],
            v3_only=made["v3_only"],
            alpha_only=made["alpha_only"],
            now=now,
        )


class Recorder:
    """Every request an httpx client sends and every answer, in order, with the
    ``time.monotonic()`` of each (``sent_at``, ``received_at``)."""

    def __init__(self):
        self.requests = []
        self.responses = []
        self.sent_at = []
        self.received_at = []

    def on_request(self, request):
        self.requests.append(request)
        self.sent_at.append(time.monotonic())

    def on_response(self, response):
        self.responses.append(response)
        self.received_at.append(time.monotonic())

    def sync_client(self):
        hooks = {"request": [self.on_request], "response": [self.on_response]}
        return httpx.Client(event_hooks=hooks, timeout=30)

    def async_client(self):
        async def on_request(request):
            self.on_request(request)

        async def on_response(response):
            self.on_response(response)

        return httpx.AsyncClient(
            event_hooks={"request": [on_request], "response": [on_response]}, timeout=30
        )

    def paths(self, method=None):
        return [r.url.path for r in self.requests if method in (None, r.method)]

    def token_requests(self):
        return self.paths("POST").count("/connect/token")
