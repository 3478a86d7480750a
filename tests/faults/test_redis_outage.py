"""Rate limits through a Redis outage, over HTTP: enforced before, requests served unlimited
(fail open) while Redis is gone, enforced again once it is back; and what is not counted
on its return (docs/security.md, "If Redis goes away")."""

import asyncio
import time

import httpx
import pytest

from backupjobs.api import build_application
from backupjobs.infra.redis_counters import RETRY_SECONDS
from backupjobs.settings import Settings
from tests.api.test_ratelimit_redis import PrivateRedis
from tests.conftest import PUBLIC_URL
from tests.processes import free_port
from tests.world import make_tenant, v3_jobs_path

pytestmark = [pytest.mark.slow, pytest.mark.redis]

QUOTA = 5


async def test_limits_hold_before_open_during_and_hold_again_after_a_redis_outage(
    sqlite_url, tmp_path
):
    port = free_port()
    redis = PrivateRedis(port, tmp_path)
    redis.start()
    settings = Settings(
        database_url=sqlite_url,
        public_url=PUBLIC_URL,
        redis_url=f"redis://127.0.0.1:{port}/0",
        rate_limit_app=QUOTA,
    )
    app = build_application(settings)
    try:
        async with app.lifespan():
            tenant = await make_tenant(app.state.context.db)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
                headers = await tenant.headers(client)
                path = v3_jobs_path(tenant.customers[0])

                async def statuses(count: int) -> list[tuple[int, bool]]:
                    answers = [await client.post(path, headers=headers) for _ in range(count)]
                    return [(a.status_code, "ratelimit" in a.headers) for a in answers]

                before = await statuses(QUOTA + 2)
                assert [s for s, _ in before] == [200] * QUOTA + [429, 429]
                redis.stop()
                during = await statuses(50)
                assert during == [(200, False)] * 50  # served, unlimited, uncounted
                redis.start()  # a new Redis without persistence: counts start again
                await asyncio.sleep(RETRY_SECONDS + 0.1)
                # 100 requests at once as Redis returns: those that arrive while the
                # connection is being made again are served uncounted.
                started = time.monotonic()
                burst = await asyncio.gather(
                    *(client.post(path, headers=headers) for _ in range(100))
                )
                uncounted = sum("ratelimit" not in answer.headers for answer in burst)
                limited = sum(answer.status_code == 429 for answer in burst)
                print(
                    f"on Redis's return: {uncounted} of 100 concurrent requests uncounted, "
                    f"{limited} limited, in {time.monotonic() - started:.2f} s"
                )
                assert uncounted == 0  # they wait for the one connection attempt
                assert limited == 100 - QUOTA
                after = await statuses(3)
                assert after == [(429, True)] * 3  # limits hold again
    finally:
        redis.stop()
