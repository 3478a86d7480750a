"""Migration 0018_customer_since_times keeps each customer's services' "since" times."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backupjobs.store.schema import backup_services, customers, microseconds
from tests.store.migrating import just_before, two_customers

T = datetime(2026, 12, 1, tzinfo=UTC)


def test_the_migration_keeps_when_each_enabled_service_that_ran_last_succeeded(tmp_path):
    def ran(status, success):
        return {"latest_job_id": f"J{status}", "latest_status": status,
                "latest_last_modify_time": T, "last_success_time": success}  # fmt: skip

    with just_before(tmp_path / "older.db", "0018_customer_since_times") as (connection, migrate):
        one, other, service = two_customers(connection, T)
        connection.execute(
            backup_services.insert(),
            [
                {**service, "job_module": 1, **ran(2, T + timedelta(hours=1))},
                # Never succeeded: since it was first seen.
                {**service, "job_module": 2, **ran(3, None), "enabled_at": T - timedelta(days=1)},
                {**service, "job_module": 3, **ran(3, T - timedelta(days=2))},
                {**service, "job_module": 4},  # never ran: never stale
                {**service, "job_module": 5, **ran(3, T - timedelta(days=9)), "disabled_at": T},
            ],
        )  # fmt: skip
        migrate()
        found = {
            row.id: row.services_since
            for row in connection.execute(select(customers.c.id, customers.c.services_since))
        }
    assert found == {
        one: tuple(
            microseconds(moment)
            for moment in (T - timedelta(days=2), T - timedelta(days=1), T + timedelta(hours=1))
        ),
        other: (),
    }
