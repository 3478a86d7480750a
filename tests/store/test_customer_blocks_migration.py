"""Migration 0014_customer_blocks counts the blocks in from the days already kept."""

from uuid import uuid4

from sqlalchemy import select

from tests.store.migrating import by_status_rows, just_before

customer_days = by_status_rows("customer_days", "day")
customer_blocks = by_status_rows("customer_blocks", "block")


def test_the_migration_adds_up_existing_days_per_customer_and_block_of_four_days(tmp_path):
    partner, one, other = uuid4(), uuid4(), uuid4()
    day = {"partner_id": partner, "jobs": 1, "backup_size_bytes": 10, "duration_seconds": 60}
    with just_before(tmp_path / "older.db", "0014_customer_blocks") as (connection, migrate):
        connection.execute(
            customer_days.insert(),
            [
                {**day, "customer_id": one, "day": 20_000, "status": 2},
                {**day, "customer_id": one, "day": 20_003, "status": 2, "jobs": 2,
                 "backup_size_bytes": 5},
                {**day, "customer_id": one, "day": 20_003, "status": 3},
                {**day, "customer_id": one, "day": 20_004, "status": 2},
                {**day, "customer_id": other, "day": -1, "status": 2},
            ],
        )  # fmt: skip
        migrate("0014_customer_blocks")
        found = {
            (row.customer_id, row.block, row.status): (
                row.jobs,
                row.backup_size_bytes,
                row.duration_seconds,
            )
            for row in connection.execute(select(customer_blocks))
        }
    assert found == {
        (one, 5_000, 2): (3, 15, 120),
        (one, 5_000, 3): (1, 10, 60),
        (one, 5_001, 2): (1, 10, 60),
        (other, -1, 2): (1, 10, 60),  # 1969-12-31 is in the block of 1969-12-28 to 31
    }
