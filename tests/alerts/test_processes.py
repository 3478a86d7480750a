"""Real server processes: a delivery survives kill -9 of the server mid-attempt, and two
processes on one PostgreSQL never send one event twice."""

import time
from collections import Counter
from contextlib import ExitStack

import httpx
import pytest

from backupjobs.sdk.webhooks import WebhookVerifier
from tests.processes import Operator, environment, running_server
from tests.receiver import receiving
from tests.services import create_postgres_database, drop_postgres_database
from tests.world import job

pytestmark = pytest.mark.slow

PERMISSIONS = ("elements.jobs.write.all", "elements.alerts.manage.all")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url_of_servers(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'backupjobs.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
def postgres_url():
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def _headers(server, operator):
    return {"Authorization": f"Bearer {operator.token(server.url)}"}


def _subscribe(server, operator, url):
    answer = httpx.post(
        f"{server.url}/api/v1/webhooks",
        json={"url": url, "events": ["job.failed"]},
        headers=_headers(server, operator),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _ingest(server, operator, records):
    answer = httpx.post(
        f"{server.url}/api/v1/ingest/jobs", json=records, headers=_headers(server, operator)
    )
    assert answer.status_code == 200 and answer.json()["stored"] == len(records), answer.text


def test_a_delivery_cut_short_by_kill_9_is_made_after_the_restart(
    tmp_path, database_url_of_servers
):
    env = environment(database_url_of_servers, BACKUPJOBS_WEBHOOK_ALLOW_PRIVATE="true")
    operator = Operator.setup(env, permissions=PERMISSIONS)
    log = tmp_path / "server.log"
    with receiving(hold_first=5.0) as receiver:
        with running_server(env, log) as server:
            hook = _subscribe(server, operator, receiver.url)
            _ingest(server, operator, [job(operator.customer_id, "K1", status=3)])
            (first,) = receiver.wait_for(1)
            server.kill()  # while the receiver holds its answer: the attempt never ends
        restarted_at = time.monotonic()
        with running_server(env, log) as server:
            second = receiver.wait_for(2, 40)[1]
            assert second.at - restarted_at < 30
            deliveries = httpx.get(
                f"{server.url}/api/v1/webhooks/{hook['id']}/deliveries",
                headers=_headers(server, operator),
            ).json()["items"]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    event = WebhookVerifier(hook["secret"]).verify(second.body, second.headers)
    assert event["data"]["job"]["jobId"] == "K1"
    assert [d["status"] for d in deliveries] in (["delivered"], ["pending"])


def test_two_processes_never_deliver_one_event_twice(tmp_path, postgres_url):
    env = environment(postgres_url, BACKUPJOBS_WEBHOOK_ALLOW_PRIVATE="true")
    operator = Operator.setup(env, permissions=PERMISSIONS)
    with receiving() as receiver, ExitStack() as stack:
        servers = [
            stack.enter_context(running_server(env, tmp_path / f"server-{n}.log")) for n in range(2)
        ]
        _subscribe(servers[0], operator, receiver.url)
        batches = [
            [job(operator.customer_id, f"P{batch}-{n}", status=3) for n in range(10)]
            for batch in range(12)
        ]
        for number, batch in enumerate(batches):
            _ingest(servers[number % 2], operator, batch)
        got = receiver.wait_for(120, 30)
        time.sleep(2)  # any duplicate would arrive meanwhile
    ids = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(ids) == 120
    assert max(ids.values()) == 1, ids.most_common(3)
    assert len(got) == 120
