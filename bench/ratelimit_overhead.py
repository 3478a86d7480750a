"""What rate limiting adds to each request: in-process, and with Redis.

    .venv/bin/python -m bench.ratelimit_overhead [--redis redis://127.0.0.1:6379/15]

Measures, on uvloop like the server:

1. the per-app middleware around a do-nothing ASGI app, against the bare app: the whole
   per-request addition (find the bearer token, the verifier's cache, count, add the
   ``RateLimit`` fields), with in-process counters and with Redis counters;
2. the whole application answering ``GET /healthz`` with an app's token (every request
   with a valid token is counted), limits off against limits on, in-process: the same
   addition inside Litestar, where caches are colder;
3. one Redis counter hit (one script, one round trip), one at a time and 64 at once,
   in wall time and in this process's CPU time, next to redis-py doing the same script.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as redis_py
import uvloop
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from tests.world import get_token, make_tenant

from backupjobs.api import build_application
from backupjobs.api.ratelimit import LocalCounters, Policy, RateLimiter, per_app_limit
from backupjobs.auth.tokens import Principal, TokenVerifier
from backupjobs.infra.redis_counters import SCRIPT, RedisCounters
from backupjobs.settings import Settings

ROUNDS = 5


class CachedVerifier(TokenVerifier):
    """The verifier as it is on the hot path: the token was verified before."""

    def __init__(self, principal: Principal) -> None:
        self._principal = principal

    def cached(self, token: str) -> Principal | None:
        return self._principal


async def bare_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def request_scope() -> dict[str, Any]:
    return {
        "type": "http",
        "path": "/partner/external/v3/general/customers/x/jobs",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"wrk"),
            (b"authorization", b"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
            (b"content-length", b"0"),
        ],
    }


async def per_call(work: Callable[[], Awaitable[Any]], calls: int) -> tuple[float, float]:
    """Median over rounds of (wall µs, CPU µs) per call."""
    walls, cpus = [], []
    for _ in range(ROUNDS):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            await work()
        walls.append((time.perf_counter() - wall) / calls * 1e6)
        cpus.append((time.process_time() - cpu) / calls * 1e6)
    return statistics.median(walls), statistics.median(cpus)


async def concurrent_per_call(
    work: Callable[[], Awaitable[Any]], calls: int, width: int = 64
) -> float:
    async def lane() -> None:
        for _ in range(calls // width):
            await work()

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(width)))
    return (time.perf_counter() - started) / calls * 1e6


def limiter_with(counters: Any) -> RateLimiter:
    huge = Policy("app", 10**12, 60)
    return RateLimiter(counters, app=huge, token_client=huge, token_address=huge)


async def middleware_cost(counters: Any, calls: int) -> tuple[float, float]:
    principal = Principal("bench-client", uuid.uuid4(), frozenset())
    limited = per_app_limit(limiter_with(counters), CachedVerifier(principal))(bare_app)
    scope = request_scope()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        return None

    bare = await per_call(lambda: bare_app(scope, receive, send), calls)
    wrapped = await per_call(lambda: limited(scope, receive, send), calls)
    return wrapped[0] - bare[0], wrapped[1] - bare[1]


async def healthz_cpu(database: Path, quota: int, calls: int) -> float:
    """CPU µs per ``GET /healthz`` with a valid token, through the whole application."""
    settings = Settings(
        database_url=f"sqlite:///{database}", rate_limit_app=quota, log_level="warning"
    )
    application = build_application(settings)
    async with application.lifespan():
        tenant = await make_tenant(application.state.context.db)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as http:
            token = await get_token(http, tenant.client_id, tenant.secret)
        scope = {
            **request_scope(),
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/healthz",
            "raw_path": b"/healthz",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            return None

        _, cpu = await per_call(lambda: application({**scope, "state": {}}, receive, send), calls)
        return cpu


async def main(redis_url: str | None) -> None:
    local = await middleware_cost(LocalCounters(), 200_000)
    print(f"middleware, in-process counters: {local[0]:6.2f} µs wall, {local[1]:6.2f} µs CPU")
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.db"
        runs = [(await healthz_cpu(database, q, 20_000), q) for q in (0, 10**9, 0, 10**9)]
    off = statistics.mean(cpu for cpu, quota in runs if quota == 0)
    on = statistics.mean(cpu for cpu, quota in runs if quota)
    print(f"app, GET /healthz with a token:  {off:6.2f} µs CPU limits off, {on:6.2f} µs on")
    if not redis_url:
        return
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    counters = RedisCounters(redis_url, prefix=prefix)
    await counters.start()
    try:
        remote = await middleware_cost(counters, 20_000)
        print(f"middleware, Redis counters:      {remote[0]:6.2f} µs wall, {remote[1]:6.2f} µs CPU")
        hit = await per_call(lambda: counters.hit("app:one", 60_000), 20_000)
        wide = await concurrent_per_call(lambda: counters.hit("app:one", 60_000), 64_000)
        print(f"Redis hit, one at a time:        {hit[0]:6.2f} µs wall, {hit[1]:6.2f} µs CPU")
        print(f"Redis hit, 64 at once:           {wide:6.2f} µs wall per hit")
        client = redis_py.Redis.from_url(redis_url, retry=Retry(NoBackoff(), 0))
        script = client.register_script(SCRIPT)
        key = f"{prefix}redis-py"
        theirs = await per_call(lambda: script(keys=[key], args=[60_000]), 20_000)
        print(f"redis-py, same script:           {theirs[0]:6.2f} µs wall, {theirs[1]:6.2f} µs CPU")
        await client.delete(key, f"{prefix}ratelimit:app:one", f"{prefix}app:bench-client")
        await client.aclose()
    finally:
        await counters.close()
        cleanup = redis_py.Redis.from_url(redis_url)
        async for key in cleanup.scan_iter(match=f"{prefix}*"):
            await cleanup.delete(key)
        await cleanup.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", help="a Redis URL to measure the shared counters too")
    uvloop.run(main(parser.parse_args().redis))
