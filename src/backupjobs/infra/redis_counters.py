"""Rate-limit counters in Redis, shared by every API process.

>>> # counters = RedisCounters("redis://127.0.0.1:6379/0", prefix="backupjobs:")
>>> # await counters.hit("app:3f2a...", 60_000)   -> (count in window, ms left) or None

Each request costs one round trip: a Lua script increments the counter, starts its window
on the first hit (``PEXPIRE``) and returns the count and the time left (``PTTL``), by
Redis's clock, so every process and host agrees on the window.

The client is a small pipelined RESP connection written for this one script: commands are
written back to back on one connection and replies matched in order. redis-py spends
about 110 µs of CPU per call in its command machinery; this spends about 12 µs
(``bench/ratelimit_overhead.py``), which matters when the job endpoints answer thousands
of requests a second per process.

If Redis is unreachable, too slow (``timeout``) or answers nonsense, :meth:`hit` returns
None (the caller serves the request unlimited: fail open), logs the outage once, and does
not try again for ``retry_seconds``: requests in the meantime cost nothing. The first
request after that reconnects, and requests that arrive while it does wait for that one
attempt (at most ``timeout``): once Redis answers, every request is counted again.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import time
from collections import deque
from typing import Any, cast

import structlog
from redis.connection import parse_url

_log = structlog.get_logger("backupjobs.ratelimit")

SCRIPT = b"""
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""
#: Seconds without a connection attempt after Redis failed: requests meanwhile cost nothing.
RETRY_SECONDS = 2.0
#: Seconds Redis has to answer (a connection, or a count) before it counts as unavailable.
TIMEOUT = 0.5

_SCRIPT_SHA = hashlib.sha1(SCRIPT, usedforsecurity=False).hexdigest().encode()
_CRLF = b"\r\n"


def encode_command(*parts: bytes) -> bytes:
    """A command in RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


# EVALSHA <sha> 1 <key> <window ms>: all but the last two parts, encoded once.
_EVALSHA_HEAD = encode_command(b"EVALSHA", _SCRIPT_SHA, b"1").replace(b"*3", b"*5", 1)


class RedisUnavailableError(Exception):
    """Redis could not be reached, or did not answer in time, or answered nonsense."""


class ReplyError(str):
    """An error reply from Redis (``-ERR ...``), as a value."""


def parse_reply(buffer: bytearray, start: int = 0) -> tuple[Any, int] | None:
    """The RESP2 reply at ``start`` and where it ends, or None if it is incomplete."""
    line_end = buffer.find(_CRLF, start)
    if line_end < 0:
        return None
    kind = buffer[start]
    line = bytes(buffer[start + 1 : line_end])
    after = line_end + 2
    if kind == ord(":"):
        return int(line), after
    if kind == ord("+"):
        return line, after
    if kind == ord("-"):
        return ReplyError(line.decode("utf-8", "replace")), after
    if kind == ord("$"):
        length = int(line)
        if length < 0:
            return None, after
        if len(buffer) < after + length + 2:
            return None
        return bytes(buffer[after : after + length]), after + length + 2
    if kind == ord("*"):
        count = int(line)
        items = []
        for _ in range(max(count, 0)):
            parsed = parse_reply(buffer, after)
            if parsed is None:
                return None
            item, after = parsed
            items.append(item)
        return (items if count >= 0 else None), after
    raise RedisUnavailableError(f"unexpected reply from Redis: {bytes(buffer[start:after])!r}")


class _Connection(asyncio.Protocol):
    """One pipelined connection: requests written back to back, replies taken in order.

    If the oldest unanswered request is older than ``timeout``, the connection is
    dropped and every waiting request fails.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._pending: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._buffer = bytearray()
        self._outgoing: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's do not derive from asyncio.Transport).
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        consumed = 0
        try:
            while self._pending:
                parsed = parse_reply(self._buffer, consumed)
                if parsed is None:
                    break
                reply, consumed = parsed
                waiter, _ = self._pending.popleft()
                if not waiter.done():
                    waiter.set_result(reply)
        except (RedisUnavailableError, ValueError, IndexError) as error:
            self.abort(str(error))
            return
        del self._buffer[:consumed]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self._pending:
            waiter, _ = self._pending.popleft()
            if not waiter.done():
                waiter.set_exception(RedisUnavailableError(str(exc or "connection closed")))

    def abort(self, reason: str) -> None:
        """Drop the connection; waiting requests fail with ``reason``."""
        if self.closed:
            return
        self.closed = True
        while self._pending:
            waiter, _ = self._pending.popleft()
            if not waiter.done():
                waiter.set_exception(RedisUnavailableError(reason))
        if self._transport is not None:
            self._transport.abort()

    def request(self, command: bytes) -> asyncio.Future[Any]:
        if self.closed or self._transport is None:
            raise RedisUnavailableError("connection closed")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        self._pending.append((waiter, time.monotonic()))
        if not self._outgoing:
            loop.call_soon(self._flush)
        self._outgoing.append(command)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._timeout, self._check)
        return waiter

    def _flush(self) -> None:
        # One write for every command of this turn of the event loop.
        outgoing, self._outgoing = self._outgoing, []
        if self._transport is not None and not self.closed:
            self._transport.write(b"".join(outgoing))

    def _check(self) -> None:
        self._watchdog = None
        if not self._pending:
            return
        waited = time.monotonic() - self._pending[0][1]
        if waited >= self._timeout:
            self.abort(f"Redis did not answer within {self._timeout} s")
            return
        self._watchdog = asyncio.get_running_loop().call_later(self._timeout - waited, self._check)


class RedisCounters:
    """Window counters in Redis; None from :meth:`hit` while Redis is unavailable."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        timeout: float = TIMEOUT,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        self._prefix = prefix.encode()
        self._timeout = timeout
        self._retry_seconds = retry_seconds
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future[_Connection | None] | None = None
        self._retry_at = 0.0
        self._outage = False

    async def start(self) -> None:
        """Connect now rather than on the first request (a failure is logged, not raised)."""
        await self._connect()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.abort("closed")
            self._connection = None

    async def hit(self, key: str, window_ms: int) -> tuple[int, int] | None:
        """Count one request in ``key``'s window: (count so far, ms until it ends)."""
        connection = self._connection
        if connection is None or connection.closed:
            connection = await self._connect()
            if connection is None:
                return None
        full_key = self._prefix + key.encode()
        window = b"%d" % window_ms
        try:
            reply = await connection.request(
                b"%s$%d\r\n%s\r\n$%d\r\n%s\r\n"
                % (_EVALSHA_HEAD, len(full_key), full_key, len(window), window)
            )
            if isinstance(reply, ReplyError) and reply.startswith("NOSCRIPT"):
                # The script cache was flushed: EVAL loads the script again.
                reply = await connection.request(
                    encode_command(b"EVAL", SCRIPT, b"1", full_key, window)
                )
            if isinstance(reply, ReplyError):
                raise RedisUnavailableError(f"Redis refused the rate-limit script: {reply}")
            count, left = reply
            return int(count), int(left)
        except (RedisUnavailableError, ValueError, TypeError) as error:
            self._failed(error, connection)
            return None

    async def _connect(self) -> _Connection | None:
        """A new connection, or None (Redis unavailable, or not tried again yet). Calls
        while one is being made wait for it (one connection attempt, however many
        requests): on Redis's return a burst of requests is counted, not waved through."""
        if time.monotonic() < self._retry_at:
            return None
        if self._connecting is not None:
            return await asyncio.shield(self._connecting)
        attempt: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        self._connecting = attempt
        connection: _Connection | None = None
        try:
            connection = await asyncio.wait_for(self._open(), self._timeout)
        except (OSError, TimeoutError, RedisUnavailableError) as error:
            self._failed(error)
        finally:
            self._connecting = None
            attempt.set_result(connection)
        if connection is None:
            return None
        self._connection = connection
        if self._outage:
            self._outage = False
            _log.warning("redis reachable again: rate limits enforced")
        return connection

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        options = self._options
        connection = _Connection(self._timeout)
        if "path" in options:
            await loop.create_unix_connection(lambda: connection, options["path"])
        else:
            secure = options.get("connection_class") is not None
            await loop.create_connection(
                lambda: connection,
                options.get("host", "localhost"),
                options.get("port", 6379),
                ssl=ssl.create_default_context() if secure else None,
            )
        setup = []
        if options.get("password"):
            user = options.get("username")
            credentials = [user.encode()] if user else []
            setup.append(encode_command(b"AUTH", *credentials, options["password"].encode()))
        if options.get("db"):
            setup.append(encode_command(b"SELECT", str(options["db"]).encode()))
        setup.append(encode_command(b"SCRIPT", b"LOAD", SCRIPT))
        try:
            replies = [await connection.request(command) for command in setup]
        except RedisUnavailableError:
            connection.abort("setup failed")
            raise
        refused = [reply for reply in replies if isinstance(reply, ReplyError)]
        if refused or replies[-1] != _SCRIPT_SHA:
            connection.abort("setup refused")
            raise RedisUnavailableError(f"Redis refused the connection setup: {refused}")
        return connection

    def _failed(self, error: BaseException, connection: _Connection | None = None) -> None:
        if connection is not None:
            connection.abort(str(error))
            if self._connection is connection:
                self._connection = None
        self._retry_at = time.monotonic() + self._retry_seconds
        if not self._outage:
            self._outage = True
            _log.warning(
                "redis unreachable: rate limits not enforced until it answers",
                error=str(error) or type(error).__name__,
                retry_seconds=self._retry_seconds,
            )
