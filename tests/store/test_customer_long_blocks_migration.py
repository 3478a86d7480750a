"""Migration 0017_customer_long_blocks counts the long blocks in from the blocks already
kept."""

from uuid import uuid4

from sqlalchemy import select

from backupjobs.store.schema import COUNTED_STATUSES, customer_blocks, customer_long_blocks
from tests.store.migrating import just_before


def test_the_migration_adds_up_existing_blocks_per_customer_and_long_block_of_16_days(tmp_path):
    partner, one, other = uuid4(), uuid4(), uuid4()
    empty = {f"jobs_{status}": 0 for status in COUNTED_STATUSES}

    def block(customer, number, **jobs_of):
        return {
            "partner_id": partner,
            "customer_id": customer,
            "block": number,
            **empty,
            **jobs_of,
            "jobs": sum(jobs_of.values()),
            "backup_size_bytes": 10 * number,
            "duration_seconds": 60,
        }

    with just_before(tmp_path / "older.db", "0017_customer_long_blocks") as (connection, migrate):
        connection.execute(
            customer_blocks.insert(),
            [
                block(one, 5_000, jobs_2=1),  # long block 1,250
                block(one, 5_003, jobs_2=2, jobs_3=1),  # the same
                block(one, 5_004, jobs_7=1),  # long block 1,251
                block(other, -1, jobs_2=1),  # 1969-12-28 to 31: in long block -1
            ],
        )
        migrate("0017_customer_long_blocks")
        found = {
            (row.customer_id, row.long_block): (
                row.jobs,
                {
                    s: row._mapping[f"jobs_{s}"]
                    for s in COUNTED_STATUSES
                    if row._mapping[f"jobs_{s}"]
                },
                row.backup_size_bytes,
                row.duration_seconds,
            )
            for row in connection.execute(select(customer_long_blocks))
        }
    assert found == {
        (one, 1_250): (4, {2: 3, 3: 1}, 100_030, 120),
        (one, 1_251): (1, {7: 1}, 50_040, 60),
        (other, -1): (1, {2: 1}, -10, 60),
    }
