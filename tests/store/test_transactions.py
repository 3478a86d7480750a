"""Database.transaction: a transaction PostgreSQL aborted to resolve a deadlock runs again;
any other error is the caller's at once."""

import asyncio

import pytest
import sqlalchemy.exc
from sqlalchemy import update

from backupjobs.store.schema import customers
from tests.world import make_tenant, now


@pytest.mark.postgresql_only
async def test_the_victim_of_a_deadlock_runs_again_and_both_commit(db):
    tenant = await make_tenant(db, customers=2)
    first, second = tenant.customers
    both_hold_one = asyncio.Barrier(2)
    runs = {first: 0, second: 0}

    async def rename_both(connection, one, other):
        runs[one] += 1
        for customer in (one, other):
            await connection.execute(
                update(customers).where(customers.c.id == customer).values(name=f"by {one}")
            )
            if runs[one] == 1 and customer == one:
                await both_hold_one.wait()  # each holds one row and wants the other's

    await asyncio.gather(
        db.transaction(lambda c: rename_both(c, first, second)),
        db.transaction(lambda c: rename_both(c, second, first)),
    )
    assert sorted(runs.values()) == [1, 2]


async def test_other_errors_are_not_run_again(db):
    tenant = await make_tenant(db)
    runs = 0

    async def duplicate(connection):
        nonlocal runs
        runs += 1
        row = {"partner_id": tenant.partner_id, "id": tenant.customers[0], "name": "again"}
        await connection.execute(customers.insert().values(**row, created_at=now()))

    with pytest.raises(sqlalchemy.exc.IntegrityError):
        await db.transaction(duplicate)
    assert runs == 1
