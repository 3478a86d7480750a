"""Posting a delivery: one HTTP/1.1 request, connections kept per destination.

>>> # sender = Sender(user_agent="backupjobs-webhooks/0.1")
>>> # answer = await sender.post(destination, headers, body)    # Answer(status, excerpt)
>>> # await sender.close()

Why not the SDK's httpx (STYLE.md would have webhook delivery reuse it): a delivery is
one POST whose status and first KiB of answer are all that is kept, and httpx cost the
server processes as much CPU as ingestion itself (py-spy, ``bench.alerts``' load at 3.7 %
failed jobs: 32 % of the workers' samples; 1.0 ms a request alone and 3.9 ms at 50 in
flight, where its pool checks every idle connection for each request). This is a
protocol of asyncio's own per connection, the request written and the answer read by
:mod:`.http1` (``docs/scaling.md``, "Alerts", 2026-12-04 and 2026-12-05).

What it does: connects to the address :func:`.destinations.resolve_destination` checked
(TLS verified against the URL's host, sent as SNI), sends the URL's host as ``Host``,
follows no redirect, reads the answer to its end (up to :data:`MAX_ANSWER_BYTES`; past
that the connection is closed rather than read on) and keeps the connection for the next
delivery to the same destination (idle :data:`KEEP_IDLE_SECONDS` at most) unless either
side said ``Connection: close``. A kept connection the endpoint closed meanwhile is
retried once on a new one (the request was not answered: at least once allows it). The
caller bounds the whole of it in time.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import cast

import certifi

from backupjobs.alerts.destinations import Destination, Endpoint, endpoint_of
from backupjobs.alerts.http1 import AnswerReader, InvalidAnswer, request
from backupjobs.store.webhooks import RESPONSE_EXCERPT_CHARS

#: Answer bytes read at most; a longer answer's connection is closed, not reused.
MAX_ANSWER_BYTES = 64 * 1024
#: Idle connections kept per destination, and for how long (httpx's default): an
#: endpoint rarely sent to holds no socket.
KEPT_PER_DESTINATION = 50
KEEP_IDLE_SECONDS = 5.0
#: Requests in flight at once to one destination; more wait for one of them to end. An
#: endpoint back from an outage gets its backlog over this many connections, not one a
#: delivery: 200 connects at once from each of two processes overflowed the benchmark
#: receiver's listening queue, and attempts whose connect was dropped and retried ran out
#: their timeout, to wait for the schedule's next retry (``docs/scaling.md``, "Alerts").
MAX_PER_DESTINATION = KEPT_PER_DESTINATION
#: Enough bytes for RESPONSE_EXCERPT_CHARS characters of any UTF-8.
_EXCERPT_BYTES = RESPONSE_EXCERPT_CHARS * 4


class SendError(Exception):
    """No answer: the connection failed or the answer was not HTTP/1.1; says why."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    excerpt: str


#: Connections are kept per scheme, address, port and TLS server name.
_Key = tuple[str, str, int, str]


class _Connection(asyncio.Protocol):
    """One connection: a request at a time, its answer read as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        #: The answer being read, and what the exchange waits on until it is whole, the
        #: connection ends or the bytes are not HTTP.
        self.answer: AnswerReader | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.lost = False
        #: When it was last left idle (time.monotonic()).
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not an asyncio.Transport subclass).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if self.answer is None or waiter is None or waiter.done():
            self.close()  # bytes no request asked for: the connection cannot be trusted
            return
        try:
            if self.answer.feed(data):
                waiter.set_result(None)
        except InvalidAnswer as invalid:
            waiter.set_exception(invalid)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def usable(self) -> bool:
        return not self.lost and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Sender:
    def __init__(
        self,
        *,
        user_agent: str,
        keep_idle: float = KEEP_IDLE_SECONDS,
        per_destination: int = MAX_PER_DESTINATION,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: how https endpoints are checked; certifi's roots, the URL's host
        verified, when None."""
        self._user_agent = user_agent
        self._keep_idle = keep_idle
        self._per_destination = per_destination
        self._idle: dict[_Key, list[_Connection]] = {}
        #: Each destination's requests in flight or waiting, and what they wait on (both
        #: dropped when none is left).
        self._using: dict[_Key, int] = {}
        self._slots: dict[_Key, asyncio.Semaphore] = {}
        self._next_expiry = 0.0
        self._tls = tls

    async def post(
        self, destination: Destination, headers: list[tuple[str, str]], body: bytes
    ) -> Answer:
        """POST ``body`` to ``destination`` with ``headers`` (plus Host, User-Agent and
        Content-Length), once fewer than ``per_destination`` requests are in flight to it;
        :class:`SendError` when no answer came."""
        endpoint = endpoint_of(destination)
        key = (endpoint.scheme, endpoint.address, endpoint.port, endpoint.server_name)
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = asyncio.Semaphore(self._per_destination)
        self._using[key] = self._using.get(key, 0) + 1
        try:
            async with slots:
                return await self._post(key, endpoint, headers, body)
        finally:
            self._using[key] -= 1
            if not self._using[key]:
                del self._using[key], self._slots[key]

    async def _post(
        self, key: _Key, endpoint: Endpoint, headers: list[tuple[str, str]], body: bytes
    ) -> Answer:
        message = request(endpoint, self._user_agent, headers, body)
        self._expire(time.monotonic())
        kept = self._idle.get(key)
        while kept:
            connection = kept.pop()
            if not connection.usable():
                connection.close()
                continue
            try:
                return await self._exchange(key, connection, message, reused=True)
            except _ClosedUnanswered:
                break  # the endpoint closed it while idle: once more, on a new one
        connection = await self._connect(key)
        return await self._exchange(key, connection, message, reused=False)

    def _expire(self, now: float) -> None:
        """Close the connections idle longer than ``keep_idle`` (looked at once a second
        at most)."""
        if now < self._next_expiry:
            return
        self._next_expiry = now + min(1.0, self._keep_idle)
        for key, kept in list(self._idle.items()):
            fresh = []
            for connection in kept:
                if now - connection.idle_since < self._keep_idle:
                    fresh.append(connection)
                else:
                    connection.close()
            if fresh:
                self._idle[key] = fresh
            else:
                del self._idle[key]

    async def close(self) -> None:
        for kept in self._idle.values():
            for connection in kept:
                connection.close()
        self._idle.clear()

    async def _connect(self, key: _Key) -> _Connection:
        scheme, address, port, server_name = key
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context(cafile=certifi.where())
            tls = self._tls
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                _Connection, address, port, ssl=tls, server_hostname=server_name if tls else None
            )
        except OSError as failure:  # refused, unreachable, TLS refused (SSLError)
            raise SendError(f"cannot connect: {failure}") from None
        return connection

    async def _exchange(
        self, key: _Key, connection: _Connection, message: bytes, *, reused: bool
    ) -> Answer:
        answer = connection.answer = AnswerReader(
            excerpt_bytes=_EXCERPT_BYTES, max_body=MAX_ANSWER_BYTES
        )
        waiter = connection.waiter = asyncio.get_running_loop().create_future()
        if connection.lost:  # closed by the endpoint before this exchange could begin
            waiter.set_result(None)
        assert connection.transport is not None
        try:
            connection.transport.write(message)
            await waiter
        except InvalidAnswer as invalid:
            connection.close()
            raise SendError(f"the answer is not valid HTTP/1.1: {invalid}") from None
        except BaseException:  # cancelled (the caller's timeout) mid-exchange: unusable
            connection.close()
            raise
        finally:
            connection.answer = connection.waiter = None
        if not answer.whole and not (connection.lost and answer.closed()):
            connection.close()
            if answer.status is None:
                if reused:
                    raise _ClosedUnanswered
                raise SendError("connection closed without an answer")
            raise SendError("connection lost before the answer's end")
        assert answer.status is not None
        if answer.reusable and not connection.lost:
            kept = self._idle.setdefault(key, [])
            if len(kept) < KEPT_PER_DESTINATION:
                connection.idle_since = time.monotonic()
                kept.append(connection)
                return _answer(answer)
        connection.close()
        return _answer(answer)


class _ClosedUnanswered(Exception):
    """A kept connection was closed by the endpoint before any answer."""


def _answer(answer: AnswerReader) -> Answer:
    assert answer.status is not None
    excerpt = bytes(answer.excerpt).decode("utf-8", "replace")
    return Answer(answer.status, excerpt[:RESPONSE_EXCERPT_CHARS])
