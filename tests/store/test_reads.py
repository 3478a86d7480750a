"""Hot reads: a Query answers the same on both databases; on PostgreSQL concurrent calls
share round trips and still each get their own answer, errors and cancellations included."""

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy import Integer, Uuid, literal, select

from backupjobs.infra.read_connections import ReadConnections
from backupjobs.store.reads import Query
from backupjobs.store.schema import customers
from tests.world import make_tenant

BY_ID = Query(
    lambda p: select(customers.c.id, customers.c.name).where(customers.c.id == p["id"]),
    {"id": Uuid()},
)
# An integer division: a divisor of 0 fails the statement on PostgreSQL.
DIVIDED = Query(lambda p: select(literal(100, Integer) / p["divisor"]), {"divisor": Integer()})


@pytest.fixture
def round_trips(monkeypatch):
    """The number of statements ReadConnections sends, counted as they go."""
    sent = []
    fetch = ReadConnections.fetch

    async def counted(self, sql, arguments):
        sent.append(len(arguments[0]) if arguments else 0)
        return await fetch(self, sql, arguments)

    monkeypatch.setattr(ReadConnections, "fetch", counted)
    return sent


async def test_a_query_answers_alike_on_both_databases(db):
    tenant = await make_tenant(db, names=["Alpha", "Beta"])
    for customer_id, name in zip(tenant.customers, ["Alpha", "Beta"], strict=True):
        rows = await db.fetch(BY_ID, {"id": customer_id})
        assert [tuple(row) for row in rows] == [(customer_id, name)]
    assert await db.fetch(BY_ID, {"id": uuid.uuid4()}) == []


@pytest.mark.postgresql_only
async def test_concurrent_calls_share_round_trips_and_get_their_own_rows(db, round_trips):
    tenant = await make_tenant(db, customers=40)
    wanted = tenant.customers * 3
    answers = await asyncio.gather(*(db.fetch(BY_ID, {"id": c}) for c in wanted))
    assert [rows[0][0] for rows in answers] == wanted
    assert sum(round_trips) == len(wanted)
    assert len(round_trips) < len(wanted) / 4, round_trips


@pytest.mark.postgresql_only
async def test_a_call_alone_goes_at_once(db, round_trips):
    tenant = await make_tenant(db)
    for customer_id in tenant.customers:
        assert (await db.fetch(BY_ID, {"id": customer_id}))[0][0] == customer_id
    assert round_trips == [1, 1]


@pytest.mark.postgresql_only
async def test_a_failing_call_fails_alone(db):
    divisors = [1, 2, 0, 4, 5, 0, 10] * 4
    answers = await asyncio.gather(
        *(db.fetch(DIVIDED, {"divisor": d}) for d in divisors), return_exceptions=True
    )
    for divisor, answer in zip(divisors, answers, strict=True):
        if divisor:
            assert [tuple(row) for row in answer] == [(100 // divisor,)]
        else:
            assert isinstance(answer, asyncpg.DivisionByZeroError)


@pytest.mark.postgresql_only
async def test_cancelled_calls_leave_the_others_answered(db):
    tenant = await make_tenant(db, customers=30)
    tasks = [asyncio.create_task(db.fetch(BY_ID, {"id": c})) for c in tenant.customers]
    await asyncio.sleep(0)
    for task in tasks[::3]:  # the first leads a round trip; others wait
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for position, (task, result) in enumerate(zip(tasks, results, strict=True)):
        if position % 3 == 0:
            assert task.cancelled()
        else:
            assert result[0][0] == tenant.customers[position]
    # The connections and lanes are still good for later calls.
    again = await asyncio.gather(*(db.fetch(BY_ID, {"id": c}) for c in tenant.customers))
    assert [rows[0][0] for rows in again] == tenant.customers


@pytest.mark.postgresql_only
async def test_reads_survive_connections_killed_by_the_server(db):
    tenant = await make_tenant(db)
    assert await db.fetch(BY_ID, {"id": tenant.customers[0]})
    async with db.write() as connection:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = ''"
        )
    answers = await asyncio.gather(*(db.fetch(BY_ID, {"id": c}) for c in tenant.customers))
    assert [rows[0][0] for rows in answers] == tenant.customers
