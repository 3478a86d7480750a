"""Migration 0012_customer_days counts the days in from the outcomes already kept."""

from uuid import uuid4

from sqlalchemy import select

from backupjobs.store.schema import job_outcomes
from tests.store.migrating import by_status_rows, just_before

customer_days = by_status_rows("customer_days", "day")


def test_the_migration_adds_up_existing_outcomes_per_customer_and_utc_day(tmp_path):
    partner, one, other = uuid4(), uuid4(), uuid4()
    day = 20_000 * 96  # 2024-10-04T00:00Z as a quarter-hour
    outcome = {"partner_id": partner, "job_type": 7, "jobs": 1, "backup_size_bytes": 10,
               "duration_seconds": 60}  # fmt: skip
    with just_before(tmp_path / "older.db", "0012_customer_days") as (connection, migrate):
        connection.execute(
            job_outcomes.insert(),
            [
                {**outcome, "customer_id": one, "quarter": day, "job_module": 302, "status": 2},
                {**outcome, "customer_id": one, "quarter": day + 95, "job_module": 303,
                 "status": 2, "jobs": 2, "backup_size_bytes": 5},
                {**outcome, "customer_id": one, "quarter": day + 95, "job_module": 302,
                 "status": 3},
                {**outcome, "customer_id": one, "quarter": day + 96, "job_module": 302,
                 "status": 2},
                {**outcome, "customer_id": other, "quarter": -1, "job_module": 302,
                 "status": 2},
            ],
        )  # fmt: skip
        migrate("0012_customer_days")
        found = {
            (row.customer_id, row.day, row.status): (
                row.jobs,
                row.backup_size_bytes,
                row.duration_seconds,
            )
            for row in connection.execute(select(customer_days))
        }
    assert found == {
        (one, 20_000, 2): (3, 15, 120),
        (one, 20_000, 3): (1, 10, 60),
        (one, 20_001, 2): (1, 10, 60),
        (other, -1, 2): (1, 10, 60),  # the quarter-hour before 1970 is on 1969-12-31
    }
