"""Every failure of a round trip answers every call waiting for it, and frees its lane.

The server itself is scripted here (``ReadConnections.fetch`` replaced), so that the
failures of a database restart come in the order that once wedged the job pages: a
batched round trip ended by the server's shutdown (57P01, a ``PostgresError`` that is not
a ``PostgresConnectionError``), then each call alone refused (``ConnectionRefusedError``:
the server is down).
"""

import asyncio

import asyncpg
import pytest

from backupjobs.infra.read_connections import (
    ROUND_TRIPS_IN_FLIGHT,
    Batched,
    ReadConnections,
)

STATEMENT = Batched("SELECT call FROM unnest($1::int[]) WITH ORDINALITY AS c(value, call)", (0,))


class ScriptedServer(ReadConnections):
    """Read connections whose round trips fail as ``failures`` says, then answer."""

    def __init__(self, failures: list[BaseException | None], single: BaseException | None):
        super().__init__({}, size=4)
        self.failures = failures
        self.single = single
        self.healthy = asyncio.Event()

    async def fetch(self, sql, arguments):
        values = arguments[0]
        await asyncio.sleep(0.001)  # the round trip: the others queue meanwhile
        if not self.healthy.is_set():
            if len(values) > 1 and self.failures:
                failure = self.failures.pop(0)
                if failure is not None:
                    raise failure
            elif len(values) == 1 and self.single is not None:
                raise self.single
        return [(position + 1,) for position in range(len(values))]


async def _load(reads: ReadConnections, calls: int) -> list[object]:
    async with asyncio.timeout(2):
        return await asyncio.gather(
            *(reads.fetch_call(STATEMENT, (value,)) for value in range(calls)),
            return_exceptions=True,
        )


def _shutdown() -> BaseException:
    return asyncpg.exceptions.AdminShutdownError(
        "terminating connection due to administrator command"
    )


@pytest.mark.parametrize(
    "single",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        OSError("Network is unreachable"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        RuntimeError("anything else"),
    ],
    ids=["refused", "oserror", "interface", "unexpected"],
)
async def test_a_restart_answers_every_waiting_call_and_leaves_no_lane_taken(single):
    reads = ScriptedServer([_shutdown() for _ in range(20)], single)
    for _ in range(3):  # more events than round trips in flight: a leaked lane would wedge
        answers = await _load(reads, 40)
        assert all(isinstance(answer, BaseException) for answer in answers[:1]), answers
    assert all(lane.in_flight == 0 and not lane.waiting for lane in reads._lanes.values())
    reads.healthy.set()
    answers = await _load(reads, 40)
    assert answers == [[()]] * 40


async def test_a_statement_error_of_one_call_still_fails_only_that_call():
    # A batched round trip failing with an error about the query (not the server) is
    # retried call by call, so that one call's values cannot fail the others.
    class OneBadValue(ReadConnections):
        async def fetch(self, sql, arguments):
            values = arguments[0]
            await asyncio.sleep(0.001)
            if 13 in values:
                raise asyncpg.exceptions.DivisionByZeroError("division by zero")
            return [(position + 1,) for position in range(len(values))]

    reads = OneBadValue({}, size=4)
    answers = await _load(reads, 40)
    for value, answer in enumerate(answers):
        if value == 13:
            assert isinstance(answer, asyncpg.exceptions.DivisionByZeroError)
        else:
            assert answer == [()], (value, answer)
    assert all(lane.in_flight == 0 for lane in reads._lanes.values())


def test_lanes_are_bounded_by_the_round_trips_in_flight():
    assert ROUND_TRIPS_IN_FLIGHT >= 1
