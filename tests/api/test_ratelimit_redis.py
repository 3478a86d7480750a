"""Rate-limit counters in real Redis: shared, by Redis's clock, and failing open."""

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest
import redis

from backupjobs.api.ratelimit import Policy, RateLimiter
from backupjobs.infra.redis_counters import RedisCounters, encode_command, parse_reply
from tests.processes import free_port
from tests.services import IN_CI, REDIS_URL, require_server

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    require_server(REDIS_URL, 6379, "Redis")
    mine = f"backupjobs-test-{uuid.uuid4().hex[:10]}:"
    yield mine
    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(match=f"{mine}*"):
        connection.delete(key)
    connection.close()


def limiter_on(counters, quota=3, window=60):
    return RateLimiter(
        counters,
        app=Policy("app", quota, window),
        token_client=Policy("token-client", quota, window),
        token_address=Policy("token-address", quota, window),
    )


@pytest.fixture
async def shared(prefix) -> AsyncIterator[tuple[RateLimiter, RateLimiter]]:
    """Two limiters, as two API processes would have, on one Redis."""
    first, second = (RedisCounters(REDIS_URL, prefix=prefix) for _ in range(2))
    for counters in (first, second):
        await counters.start()
    yield limiter_on(first), limiter_on(second)
    for counters in (first, second):
        await counters.close()


async def test_processes_share_one_count(shared):
    first, second = shared
    used = []
    for number in range(5):
        limiter = (first, second)[number % 2]
        used.append(await limiter.hit(limiter.app, "client-a"))
    assert [u.remaining for u in used] == [2, 1, 0, 0, 0]
    assert [u.limited for u in used] == [False, False, False, True, True]
    assert all(0 < u.reset <= 60 for u in used)


async def test_subjects_and_policies_count_apart(shared):
    first, second = shared
    for _ in range(4):
        await first.hit(first.app, "greedy")
    assert (await second.hit(second.app, "modest")).remaining == 2
    assert (await second.hit(second.token_client, "greedy")).remaining == 2


async def test_the_window_is_redis_s_and_ends(prefix):
    counters = RedisCounters(REDIS_URL, prefix=prefix)
    limiter = limiter_on(counters, quota=1, window=1)
    assert not (await limiter.hit(limiter.app, "c")).limited
    assert (await limiter.hit(limiter.app, "c")).limited
    await anyio.sleep(1.1)
    assert not (await limiter.hit(limiter.app, "c")).limited
    await counters.close()


async def test_keys_carry_the_prefix_and_expire(prefix):
    counters = RedisCounters(REDIS_URL, prefix=prefix)
    await limiter_on(counters).hit(Policy("app", 3, 60), "client-b")
    await counters.close()
    connection = redis.Redis.from_url(REDIS_URL)
    key = f"{prefix}app:client-b"
    assert connection.get(key) == b"1"
    assert 59_000 < connection.pttl(key) <= 60_000
    connection.close()


async def test_concurrent_hits_are_counted_exactly(shared):
    first, second = shared
    used = await asyncio.gather(
        *(limiter.hit(limiter.app, "burst") for limiter in (first, second) * 50)
    )
    assert sorted(u.used for u in used) == list(range(1, 101))


def test_resp_round_trip():
    assert encode_command(b"GET", b"k") == b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
    reply = bytearray(b"*2\r\n:7\r\n:59000\r\n+OK\r\n")
    assert parse_reply(reply) == ([7, 59000], 16)
    assert parse_reply(reply, 16) == (b"OK", 21)
    assert parse_reply(bytearray(b"*2\r\n:7\r\n")) is None
    assert parse_reply(bytearray(b"$5\r\nab")) is None
    error, _ = parse_reply(bytearray(b"-NOSCRIPT No matching script\r\n"))
    assert error.startswith("NOSCRIPT")


# Redis going away


NO_PERSISTENCE = ("--save", "", "--appendonly", "no")


class PrivateRedis:
    """A redis-server of a test's own on ``port``, so that stopping it disturbs nobody."""

    def __init__(self, port: int, directory: Path, *options: str) -> None:
        self.port = port
        self.directory = directory
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            message = "redis-server is not installed"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                *NO_PERSISTENCE,
                *self.options,
            ],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.AuthenticationError:
                return  # up, and wants a password
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def private_redis(port: int, directory: Path, *options: str) -> Iterator[PrivateRedis]:
    server = PrivateRedis(port, directory, *options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_redis_stopping_fails_open_and_limits_resume_when_it_returns(tmp_path):
    port = free_port()
    counters = RedisCounters(f"redis://127.0.0.1:{port}/0", prefix="t:", retry_seconds=0.5)
    limiter = limiter_on(counters, quota=2)
    with private_redis(port, tmp_path):
        used = [await limiter.hit(limiter.app, "c") for _ in range(3)]
        assert [u.limited for u in used] == [False, False, True]
    # Redis is gone: every request is served, unlimited, without waiting.
    started = time.monotonic()
    assert [await limiter.hit(limiter.app, "c") for _ in range(100)] == [None] * 100
    assert time.monotonic() - started < 0.5
    with private_redis(port, tmp_path):
        await anyio.sleep(0.6)
        resumed = [await limiter.hit(limiter.app, "c") for _ in range(3)]
    # A new Redis starts from zero; limiting is back.
    assert [u.remaining for u in resumed] == [1, 0, 0]
    assert resumed[-1].limited
    await counters.close()


async def test_a_flushed_script_cache_is_reloaded(tmp_path):
    port = free_port()
    counters = RedisCounters(f"redis://127.0.0.1:{port}/0", prefix="t:")
    with private_redis(port, tmp_path):
        assert await counters.hit("app:c", 60_000) is not None
        redis.Redis(port=port).script_flush()
        used, _ = await counters.hit("app:c", 60_000)
        assert used == 2
    await counters.close()


async def test_password_and_database_from_the_url(tmp_path):
    port = free_port()
    with private_redis(port, tmp_path, "--requirepass", "s3cret"):
        right = RedisCounters(f"redis://:s3cret@127.0.0.1:{port}/3", prefix="t:")
        assert await right.hit("app:c", 60_000) == (1, 60_000)
        assert redis.Redis(port=port, password="s3cret", db=3).get("t:app:c") == b"1"
        wrong = RedisCounters(f"redis://:nope@127.0.0.1:{port}/3", prefix="t:")
        assert await wrong.hit("app:c", 60_000) is None  # refused setup: fail open
        for counters in (right, wrong):
            await counters.close()


async def test_an_unreachable_redis_costs_one_attempt_per_retry_period():
    """A server that accepts and never answers: requests time out once, then skip Redis."""
    accepted = []

    async def hold(reader, writer):
        accepted.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    counters = RedisCounters(
        f"redis://127.0.0.1:{port}/0", prefix="t:", timeout=0.2, retry_seconds=30
    )
    limiter = limiter_on(counters)
    started = time.monotonic()
    first = await asyncio.gather(*(limiter.hit(limiter.app, "c") for _ in range(50)))
    later = [await limiter.hit(limiter.app, "c") for _ in range(200)]
    elapsed = time.monotonic() - started
    assert first == [None] * 50 and later == [None] * 200
    assert len(accepted) == 1
    assert elapsed < 1.0
    for writer in accepted:
        writer.close()
    server.close()
    await server.wait_closed()
    await counters.close()
