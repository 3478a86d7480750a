"""Posting a delivery: one HTTP/1.1 request, connections kept per destination.

>>> # sender = Sender(user_agent="backupjobs-webhooks/0.1")
>>> # answer = await sender.post(destination, headers, body)    # Answer(status, excerpt)
>>> # await sender.close()

Why not the SDK's httpx (STYLE.md would have webhook delivery reuse it): a delivery is
one POST whose status and first KiB of answer are all that is kept, and httpx cost the
server processes as much CPU as ingestion itself (py-spy, ``bench.alerts``' load at 3.7 %
failed jobs: 32 % of the workers' samples; 1.0 ms a request alone and 3.9 ms at 50 in
flight, where its pool checks every idle connection for each request) against 0.2 ms for
this: h11's parser over asyncio streams (``docs/scaling.md``, "Alerts", 2026-12-04).

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

import certifi
import h11

from backupjobs.alerts.destinations import Destination, Endpoint, endpoint_of
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
_READ_BYTES = 16 * 1024
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


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    protocol: h11.Connection
    #: When it was last left idle (time.monotonic()).
    idle_since: float = 0.0

    def usable(self) -> bool:
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


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
        request = h11.Request(
            method="POST",
            target=endpoint.target,
            headers=[
                ("Host", endpoint.host_header),
                ("User-Agent", self._user_agent),
                ("Content-Length", str(len(body))),
                *headers,
            ],
        )
        self._expire(time.monotonic())
        kept = self._idle.get(key)
        while kept:
            connection = kept.pop()
            if not connection.usable():
                connection.close()
                continue
            try:
                return await self._exchange(key, connection, request, body, reused=True)
            except _ClosedUnanswered:
                break  # the endpoint closed it while idle: once more, on a new one
        connection = await self._connect(key)
        return await self._exchange(key, connection, request, body, reused=False)

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
            reader, writer = await asyncio.open_connection(
                address, port, ssl=tls, server_hostname=server_name if tls else None
            )
        except OSError as failure:  # refused, unreachable, TLS refused (SSLError)
            raise SendError(f"cannot connect: {failure}") from None
        return _Connection(reader, writer, h11.Connection(h11.CLIENT))

    async def _exchange(
        self,
        key: _Key,
        connection: _Connection,
        request: h11.Request,
        body: bytes,
        *,
        reused: bool,
    ) -> Answer:
        protocol = connection.protocol
        status: int | None = None
        excerpt = bytearray()
        read = 0
        try:
            connection.writer.write(
                protocol.send(request) + protocol.send(h11.Data(data=body))
                + protocol.send(h11.EndOfMessage())
            )  # fmt: skip
            await connection.writer.drain()
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    protocol.receive_data(await connection.reader.read(_READ_BYTES))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    read += len(event.data)
                    excerpt += event.data[: _EXCERPT_BYTES - len(excerpt)]
                    if read > MAX_ANSWER_BYTES:
                        assert status is not None
                        connection.close()
                        return _answer(status, excerpt)
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    break
        except (OSError, h11.ProtocolError) as failure:
            connection.close()
            if reused and status is None:
                raise _ClosedUnanswered from None
            if isinstance(failure, h11.ProtocolError):
                raise SendError(f"the answer is not valid HTTP/1.1: {failure}") from None
            raise SendError(f"connection lost: {failure}") from None
        except BaseException:  # cancelled (the caller's timeout) mid-exchange: unusable
            connection.close()
            raise
        if status is None:  # closed before any answer
            connection.close()
            if reused:
                raise _ClosedUnanswered
            raise SendError("connection closed without an answer")
        if protocol.our_state is h11.DONE and protocol.their_state is h11.DONE:
            protocol.start_next_cycle()
            kept = self._idle.setdefault(key, [])
            if len(kept) < KEPT_PER_DESTINATION:
                connection.idle_since = time.monotonic()
                kept.append(connection)
                return _answer(status, excerpt)
        connection.close()
        return _answer(status, excerpt)


class _ClosedUnanswered(Exception):
    """A kept connection was closed by the endpoint before any answer."""


def _answer(status: int, excerpt: bytearray) -> Answer:
    return Answer(status, bytes(excerpt).decode("utf-8", "replace")[:RESPONSE_EXCERPT_CHARS])
