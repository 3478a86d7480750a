"""Rate limits across two real API processes sharing Redis, and Redis stopped mid-run."""

import time
import uuid
from contextlib import ExitStack, contextmanager

import httpx
import pytest
import redis

from tests.api.test_ratelimit import items
from tests.api.test_ratelimit_redis import private_redis
from tests.processes import Operator, environment, free_port, running_server
from tests.services import REDIS_URL, require_server

pytestmark = [pytest.mark.slow, pytest.mark.redis]

PUBLIC_URL = "http://jobs.backupjobs.test"
QUOTA = 4


@contextmanager
def two_servers(env, tmp_path):
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                running_server(env, tmp_path / f"server-{name}.log", public_url=PUBLIC_URL)
            )
            for name in ("a", "b")
        ]


def limited_env(tmp_path, redis_url, prefix):
    return environment(
        f"sqlite:///{tmp_path / 'limits.db'}",
        BACKUPJOBS_REDIS_URL=redis_url,
        BACKUPJOBS_REDIS_KEY_PREFIX=prefix,
        BACKUPJOBS_RATE_LIMIT_APP=str(QUOTA),
        BACKUPJOBS_LOG_JSON="true",
    )


def read_jobs(server, operator, token):
    return httpx.post(
        f"{server.url}/partner/external/v3/general/customers/{operator.customer_id}/jobs",
        headers={"Authorization": f"Bearer {token}"},
    )


def remaining(response):
    return items(response.headers["ratelimit"])["app"][0]


@pytest.fixture
def prefix():
    require_server(REDIS_URL, 6379, "Redis")
    mine = f"backupjobs-test-{uuid.uuid4().hex[:10]}:"
    yield mine
    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(match=f"{mine}*"):
        connection.delete(key)
    connection.close()


def test_two_processes_share_each_apps_quota_and_partners_stay_apart(tmp_path, prefix):
    env = limited_env(tmp_path, REDIS_URL, prefix)
    greedy = Operator.setup(env)
    modest = Operator.setup(env)
    with two_servers(env, tmp_path) as (first, second):
        greedy_token, modest_token = greedy.token(first.url), modest.token(second.url)
        answers = [
            read_jobs(server, greedy, greedy_token) for server in (first, second, first, second)
        ]
        assert [a.status_code for a in answers] == [200] * QUOTA
        assert [remaining(a) for a in answers] == [3, 2, 1, 0]
        assert {a.headers["ratelimit-policy"] for a in answers} == {f'"app";q={QUOTA};w=60'}
        for server in (first, second):
            refused = read_jobs(server, greedy, greedy_token)
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
            assert (
                int(refused.headers["retry-after"]) == items(refused.headers["ratelimit"])["app"][1]
            )
            assert 0 < int(refused.headers["retry-after"]) <= 60
        # The other partner's app has its whole quota, on either process.
        assert [remaining(read_jobs(s, modest, modest_token)) for s in (second, first)] == [3, 2]


def test_redis_stopped_mid_run_serves_unlimited_then_limits_again(tmp_path):
    port = free_port()
    env = limited_env(tmp_path, f"redis://127.0.0.1:{port}/0", "mid-run:")
    operator = Operator.setup(env)
    with private_redis(port, tmp_path) as redis_server, two_servers(env, tmp_path) as servers:
        token = operator.token(servers[0].url)

        def statuses(count):
            return [read_jobs(servers[n % 2], operator, token) for n in range(count)]

        assert [r.status_code for r in statuses(QUOTA + 1)] == [200] * QUOTA + [429]

        redis_server.stop()
        outage = statuses(40)
        assert {r.status_code for r in outage} == {200}
        assert not any("ratelimit" in r.headers for r in outage)

        redis_server.start()  # empty: the counts start again
        deadline = time.monotonic() + 10
        while "ratelimit" not in read_jobs(servers[0], operator, token).headers:
            assert time.monotonic() < deadline, "limits did not resume"
            time.sleep(0.2)
        while "ratelimit" not in read_jobs(servers[1], operator, token).headers:
            assert time.monotonic() < deadline, "limits did not resume"
            time.sleep(0.2)
        assert 429 in [r.status_code for r in statuses(QUOTA + 1)]
        logs = [server.log.read_text() for server in servers]
    for log in logs:
        # Logged once per outage, not once per request.
        assert log.count("redis unreachable") == 1
        assert log.count("redis reachable again") == 1
