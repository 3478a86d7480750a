"""PostgreSQL read connections that answer many calls of one statement per round trip.

>>> # reads = ReadConnections(connect_options, size=10)
>>> # rows = await reads.fetch_call(batched, (partner_id, client_id, customer_id))

A :class:`Batched` statement takes each of its parameters as an array, one element per
call (see :class:`backupjobs.store.reads.Query`, which builds them), and its first column
says which call a row answers. Calls that arrive while :data:`ROUND_TRIPS_IN_FLIGHT` round
trips of the statement are in flight wait, and then go together: under load a round trip
carries many requests' reads, and its client-side cost (most of a page read's cost) is
shared; with no other call in flight a call goes at once, alone. A statement is
prepared once per connection.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

# The read queries look rows up by key whatever the values: one plan each, made once per
# connection, instead of a new plan for every call.
SERVER_SETTINGS = {"plan_cache_mode": "force_generic_plan"}
#: Calls of one query in flight at once, each a round trip carrying every call that
#: waited for it; more calls wait for one of them to finish.
ROUND_TRIPS_IN_FLIGHT = 2
#: Calls answered by one round trip at most.
CALLS_PER_ROUND_TRIP = 64


@dataclass(frozen=True, slots=True)
class Constant:
    """A value the select holds itself (``x > 5``): the same for every call."""

    value: Any


@dataclass(frozen=True, slots=True)
class Batched:
    """A statement for many calls: its SQL, and what each positional parameter gets: a
    call parameter's values over the calls (by index), or a constant."""

    sql: str
    slots: tuple[int | Constant, ...]

    def arguments(self, calls: Sequence[tuple[Any, ...]]) -> list[Any]:
        columns = list(zip(*calls, strict=True))
        return [columns[slot] if isinstance(slot, int) else slot.value for slot in self.slots]


@dataclass(eq=False, slots=True)
class _Call:
    arguments: tuple[Any, ...]
    answer: asyncio.Future[Sequence[Sequence[Any]] | _Lead]


@dataclass(eq=False, slots=True)
class _Lead:
    """Handed to a waiting call: run this round trip (the call is among ``calls``)."""

    calls: list[_Call]


@dataclass(eq=False, slots=True)
class _Lane:
    """Round trips of one query: how many are in flight, and the calls waiting."""

    in_flight: int = 0
    waiting: deque[_Call] = field(default_factory=deque)


# Errors after which a connection cannot be trusted (the server restarted, the network
# failed); an error the server reports about a query leaves the connection usable.
# (A connection the server closed while it sat idle fails with InternalClientError.)
_BROKEN = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


# SQLSTATE classes of a server that cannot answer now, whatever the statement: connection
# exception, insufficient resources, operator intervention (shutdown, starting up).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


def _unavailable(error: asyncpg.PostgresError) -> bool:
    """True if ``error`` is about the server rather than the statement."""
    if isinstance(error, asyncpg.PostgresConnectionError):
        return True
    return str(getattr(error, "sqlstate", ""))[:2] in _UNAVAILABLE_SQLSTATE_CLASSES


class ReadConnections:
    """asyncpg connections for reads (PostgreSQL), lent for one statement at a time.

    asyncpg's own pool costs more per checkout than a page read costs the client (a task
    per release, a timer, a reset round trip); this one is a list of idle connections and
    a queue of waiters. A connection that fails is dropped; a read that fails because its
    connection broke (the server restarted) drops the idle ones and runs once more.
    """

    def __init__(
        self,
        connect_options: dict[str, Any],
        *,
        size: int,
        connect_timeout: float | None = None,
    ) -> None:
        self._options = dict(connect_options)
        if connect_timeout is not None:
            self._options["timeout"] = connect_timeout
        self._size = size
        self._idle: list[asyncpg.Connection] = []
        # Each waiter receives a connection, or None: "open one, the slot is yours".
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._open = 0  # connections open, being opened, or promised to a waiter
        self._lanes: dict[str, _Lane] = {}

    async def fetch_call(
        self, batched: Batched, arguments: tuple[Any, ...]
    ) -> Sequence[Sequence[Any]]:
        """One call's rows of a batched statement.

        The call goes now if fewer than ``ROUND_TRIPS_IN_FLIGHT`` round trips of the
        statement are in flight; otherwise it waits, and goes with the others that waited.
        """
        lane = self._lanes.get(batched.sql)
        if lane is None:
            lane = self._lanes[batched.sql] = _Lane()
        call = _Call(arguments, asyncio.get_running_loop().create_future())
        if lane.in_flight < ROUND_TRIPS_IN_FLIGHT:
            lane.in_flight += 1
            return await self._lead(batched, lane, call, [call])
        lane.waiting.append(call)
        try:
            answer = await call.answer
        except asyncio.CancelledError:
            if call.answer.done() and not call.answer.cancelled():
                given = call.answer.result()
                if isinstance(given, _Lead):  # chosen to lead: pass it on
                    self._hand_over(batched, lane, [c for c in given.calls if c is not call])
            raise
        if isinstance(answer, _Lead):
            return await self._lead(batched, lane, call, answer.calls)
        return answer

    async def _lead(
        self, batched: Batched, lane: _Lane, call: _Call, calls: list[_Call]
    ) -> Sequence[Sequence[Any]]:
        """Run one round trip for ``calls`` (``call``, this caller's, among them); then
        hand the lane to a waiting call, so that the next round trip goes at once.

        Whatever happens, every call of ``calls`` gets its answer or an error and the lane
        moves on: an error not foreseen here fails every call, never leaves one waiting.
        """
        try:
            answers = await self._round_trip(batched, calls)
        except asyncio.CancelledError:
            # This caller gave up; the others still want their answer.
            self._hand_over(batched, lane, [c for c in calls if c is not call])
            raise
        except BaseException as error:
            self._fail(batched, lane, call, calls, error)
            raise
        own: Sequence[Sequence[Any]] | BaseException = []
        for other, answer in zip(calls, answers, strict=True):
            if other is call:
                own = answer
            elif not other.answer.done():
                if isinstance(answer, BaseException):
                    other.answer.set_exception(answer)
                else:
                    other.answer.set_result(answer)
        self._next(batched, lane)
        if isinstance(own, BaseException):
            raise own
        return own

    async def _round_trip(
        self, batched: Batched, calls: list[_Call]
    ) -> list[Sequence[Sequence[Any]] | BaseException]:
        """Each call's rows (or its own error), from one round trip; raises only what
        fails them all."""
        try:
            rows = await self.fetch(batched.sql, batched.arguments([c.arguments for c in calls]))
        except asyncpg.PostgresError as error:
            if len(calls) == 1 or _unavailable(error):
                raise
            # One call's values made the statement fail: the others must not.
            return await self._each_alone(batched, calls)
        answers: list[list[Sequence[Any]]] = [[] for _ in calls]
        for row in rows:
            answers[row[0] - 1].append(row[1:])
        return list(answers)

    async def _each_alone(
        self, batched: Batched, calls: list[_Call]
    ) -> list[Sequence[Sequence[Any]] | BaseException]:
        """Answer ``calls`` one round trip each, so that an error about the statement is
        only its call's; any other error (the server went away) fails them all."""
        answers: list[Sequence[Sequence[Any]] | BaseException] = []
        for call in calls:
            try:
                rows = await self.fetch(batched.sql, batched.arguments([call.arguments]))
            except asyncpg.PostgresError as error:
                if _unavailable(error):
                    raise
                answers.append(error)
                continue
            answers.append([row[1:] for row in rows])
        return answers

    def _fail(
        self, batched: Batched, lane: _Lane, call: _Call, calls: list[_Call], error: BaseException
    ) -> None:
        for other in calls:
            if other is not call and not other.answer.done():
                other.answer.set_exception(error)
        self._next(batched, lane)

    def _next(self, batched: Batched, lane: _Lane) -> None:
        """The lane's round trip is over: the waiting calls go next, or the lane frees."""
        calls: list[_Call] = []
        while lane.waiting and len(calls) < CALLS_PER_ROUND_TRIP:
            waiting = lane.waiting.popleft()
            if not waiting.answer.done():
                calls.append(waiting)
        self._hand_over(batched, lane, calls)

    def _hand_over(self, batched: Batched, lane: _Lane, calls: list[_Call]) -> None:
        """Make the first of ``calls`` still waiting lead them; with none, free the slot."""
        calls = [c for c in calls if not c.answer.done()]
        if calls:
            calls[0].answer.set_result(_Lead(calls))
        elif lane.waiting:
            self._next(batched, lane)
        else:
            lane.in_flight -= 1

    async def fetch(self, sql: str, arguments: Sequence[Any]) -> Sequence[Sequence[Any]]:
        """The rows of one statement, outside any transaction."""
        try:
            return await self._fetch_once(sql, arguments)
        except _BROKEN:
            self._drop_idle()
            return await self._fetch_once(sql, arguments)

    async def _fetch_once(self, sql: str, arguments: Sequence[Any]) -> Sequence[Sequence[Any]]:
        connection = self._idle.pop() if self._idle else await self._acquire()
        if connection.is_closed():  # the server ended it while it was idle
            self._pass_on(None)
            connection = await self._acquire()
        try:
            rows: Sequence[Sequence[Any]] = await connection.fetch(sql, *arguments)
        except asyncpg.PostgresError as error:
            if isinstance(error, asyncpg.PostgresConnectionError):
                self._discard(connection)
            else:
                self._pass_on(connection)
            raise
        except BaseException:  # broken, or cancelled mid-statement: never reuse it
            self._discard(connection)
            raise
        self._pass_on(connection)
        return rows

    async def _acquire(self) -> asyncpg.Connection:
        if self._open >= self._size:
            waiter: asyncio.Future[asyncpg.Connection | None]
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                given = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._pass_on(waiter.result())
                else:
                    self._waiters.remove(waiter)
                raise
            if given is not None:
                return given
        else:
            self._open += 1
        try:
            connection: asyncpg.Connection = await asyncpg.connect(
                **self._options, server_settings=SERVER_SETTINGS
            )
        except BaseException:
            self._pass_on(None)
            raise
        return connection

    def _discard(self, connection: asyncpg.Connection) -> None:
        connection.terminate()
        self._pass_on(None)

    def _pass_on(self, connection: asyncpg.Connection | None) -> None:
        """Give a connection (or, with None, a free slot) to the first waiter."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        if connection is None:
            self._open -= 1
        else:
            self._idle.append(connection)

    def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            self._discard(connection)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        for connection in idle:
            await connection.close()
