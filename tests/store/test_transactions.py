"""Database.transaction: a transaction PostgreSQL aborted to resolve a deadlock runs again;
any other error is the caller's at once."""

import asyncio

import pytest
import sqlalchemy.exc
from sqlalchemy import select, text, update

from backupjobs.store.database import writes_watched
from backupjobs.store.schema import app_secrets, customers
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


async def test_only_commits_that_wrote_a_watched_table_are_announced(db):
    # The read model forgets what it kept after this process's commits (after_commit):
    # one that wrote nothing it keeps must not make it forget (the webhook deliverer
    # commits every second in every process).
    tenant = await make_tenant(db)
    announced = 0

    def heard() -> None:
        nonlocal announced
        announced += 1

    db.after_commit(heard)
    async with db.write() as connection:  # a table the change feed does not watch
        await connection.execute(
            update(app_secrets)
            .where(app_secrets.c.client_id == tenant.client_id)
            .values(last_used_at=now())
        )
    assert announced == 0
    async with db.write() as connection:
        await connection.execute(
            update(customers).where(customers.c.id == tenant.customers[0]).values(name="Renamed")
        )
    assert announced == 1
    async with db.write() as connection:  # textual SQL is judged the same way
        await connection.execute(text("UPDATE apps SET name = 'Renamed' WHERE 1 = 0"))
    assert announced == 2

    async def rename_then_fail() -> None:
        async with db.write() as connection:
            await connection.execute(
                update(customers).where(customers.c.id == tenant.customers[0]).values(name="X")
            )
            raise RuntimeError

    with pytest.raises(RuntimeError):  # rolled back: nothing changed, nothing announced
        await rename_then_fail()
    async with db.write() as connection:  # the flag of the failed one is not carried over
        await connection.execute(select(customers.c.id).with_for_update())
    assert announced == 2


@pytest.mark.parametrize(
    ("statement", "watched"),
    [
        ("UPDATE customers SET name=$1 WHERE customers.id = $2", True),
        ("DELETE FROM app_customers WHERE app_customers.app_id = ?", True),
        ("INSERT INTO apps (id, name) VALUES ($1, $2)", True),
        ("TRUNCATE TABLE customers", True),
        ("WITH x AS (SELECT 1) UPDATE customers SET name = 'n'", True),
        ("SELECT customers.id FROM customers WHERE customers.id = $1 FOR UPDATE", False),
        ("SELECT customers.id FROM customers FOR NO KEY UPDATE", False),
        ("UPDATE customers_archive SET x = 1", False),
        ("INSERT INTO webhook_deliveries (id) SELECT id FROM customers", False),
        ("UPDATE app_secrets SET last_used_at=$1", False),
    ],
)
def test_which_statements_write_a_watched_table(statement, watched):
    assert writes_watched(statement) is watched
