"""Migration 0016_outcomes_by_status_columns makes a row per status a column per status."""

from uuid import uuid4

from sqlalchemy import select

from backupjobs.store.schema import COUNTED_STATUSES, customer_blocks, customer_days
from tests.store.migrating import by_status_rows, just_before


def test_the_migration_puts_a_customers_statuses_of_a_day_or_block_in_one_row(tmp_path):
    partner, one, other = uuid4(), uuid4(), uuid4()
    row = {"partner_id": partner, "customer_id": one, "jobs": 1, "backup_size_bytes": 10,
           "duration_seconds": 60}  # fmt: skip
    revision = "0016_outcomes_by_status_columns"
    with just_before(tmp_path / "older.db", revision) as (connection, migrate):
        for name, unit, at in (
            ("customer_days", "day", 20_003),
            ("customer_blocks", "block", 5_000),
        ):
            connection.execute(
                by_status_rows(name, unit).insert(),
                [
                    {**row, unit: at, "status": 2, "jobs": 3},
                    {**row, unit: at, "status": 3, "backup_size_bytes": 5},
                    {**row, unit: at, "status": 14, "duration_seconds": 0},
                    {**row, unit: at + 1, "status": 2},
                    {**row, unit: -1, "status": 7, "customer_id": other},
                ],
            )
        migrate()
        found = {
            unit.name: {
                (r.customer_id, r._mapping[unit.name]): (
                    r.jobs,
                    {s: r._mapping[f"jobs_{s}"] for s in COUNTED_STATUSES if r._mapping[f"jobs_{s}"]},
                    r.backup_size_bytes,
                    r.duration_seconds,
                )
                for r in connection.execute(select(table))
            }
            for table, unit in ((customer_days, customer_days.c.day),
                                (customer_blocks, customer_blocks.c.block))
        }  # fmt: skip
    for unit, at in (("day", 20_003), ("block", 5_000)):
        assert found[unit] == {
            (one, at): (5, {2: 3, 3: 1, 14: 1}, 25, 120),
            (one, at + 1): (1, {2: 1}, 10, 60),
            (other, -1): (1, {7: 1}, 10, 60),
        }
