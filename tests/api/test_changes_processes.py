"""Two real API processes on one PostgreSQL: a change made through one of them, or by the
operator command line, shows on the other's job pages, which it answers from memory."""

import time
from contextlib import ExitStack

import httpx
import pytest

from backupjobs.readmodel.changes import MAX_LAG
from tests.processes import Operator, cli_json, environment, running_server
from tests.services import create_postgres_database, drop_postgres_database
from tests.world import job

pytestmark = pytest.mark.slow

PUBLIC_URL = "http://jobs.backupjobs.test"


@pytest.fixture
def postgres_url():
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def _rows(server, operator, token):
    answer = httpx.post(
        f"{server.url}/partner/external/v3/general/customers/{operator.customer_id}/jobs",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    return [(row["jobModule"], row["jobId"]) for row in answer.json()["data"]]


def _shows_within(seconds, read, expected):
    deadline = time.monotonic() + seconds
    while (rows := read()) != expected:
        assert time.monotonic() < deadline, f"still {rows}, not {expected}"
        time.sleep(0.01)


def test_a_change_through_one_process_or_the_cli_shows_on_the_other(tmp_path, postgres_url):
    env = environment(postgres_url)
    operator = Operator.setup(env)
    with ExitStack() as stack:
        writer, reader = (
            stack.enter_context(
                running_server(env, tmp_path / f"server-{name}.log", public_url=PUBLIC_URL)
            )
            for name in ("writer", "reader")
        )
        token = operator.token(writer.url)

        def ingest(record):
            answer = httpx.post(
                f"{writer.url}/api/v1/ingest/jobs",
                json=[record],
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200 and answer.json()["stored"] == 1, answer.text

        def read():
            return _rows(reader, operator, token)

        ingest(job(operator.customer_id, "NIGHT-1", startTime="2025-09-10T03:00:00Z"))
        assert read() == [(304, "NIGHT-1")]
        assert read() == [(304, "NIGHT-1")]  # now from the reader's memory
        ingest(job(operator.customer_id, "NIGHT-2", startTime="2025-09-11T03:00:00Z"))
        _shows_within(MAX_LAG, read, [(304, "NIGHT-2")])
        enabled = cli_json(
            env, "services", "enable", "--customer", operator.customer_id,
            "--job-type", "7", "--job-module", "302",
        )  # fmt: skip
        assert enabled["created"] is True
        _shows_within(MAX_LAG, read, [(302, "N/A"), (304, "NIGHT-2")])
        cli_json(
            env, "services", "disable", "--customer", operator.customer_id,
            "--job-type", "7", "--job-module", "304",
        )  # fmt: skip
        _shows_within(MAX_LAG, read, [(302, "N/A")])
        # The app's customer scope, changed by the operator: the same token, on the reader.
        other = cli_json(
            env, "customers", "create", "--partner", operator.partner_id, "--name", "Other"
        )["id"]
        cli_json(env, "apps", "update", "--client-id", operator.client_id, "--customer", other)
        deadline = time.monotonic() + MAX_LAG
        while (
            status := httpx.post(
                f"{reader.url}/partner/external/v3/general/customers/{operator.customer_id}/jobs",
                headers={"Authorization": f"Bearer {token}"},
            ).status_code
        ) != 404:
            assert time.monotonic() < deadline, status
            time.sleep(0.01)
