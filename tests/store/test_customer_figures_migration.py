"""Migration 0015_customer_figures adds up each customer's services already there."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backupjobs.store.schema import backup_services, customers
from tests.store.migrating import just_before, two_customers

T = datetime(2026, 12, 1, tzinfo=UTC)


def test_the_migration_keeps_the_figures_of_each_customers_enabled_services(tmp_path):
    def ran(status, size, success):
        return {"latest_job_id": f"J{status}{size}", "latest_status": status,
                "latest_backup_size_bytes": size, "latest_last_modify_time": T,
                "last_success_time": success}  # fmt: skip

    with just_before(tmp_path / "older.db", "0015_customer_figures") as (connection, migrate):
        one, other, service = two_customers(connection, T)
        connection.execute(
            backup_services.insert(),
            [
                {**service, "job_module": 1, **ran(3, 100, T - timedelta(days=2))},
                {**service, "job_module": 2, **ran(2, 50, T + timedelta(hours=1))},
                {**service, "job_module": 3, **ran(3, None, None),
                 "enabled_at": T - timedelta(days=1)},
                {**service, "job_module": 4},  # never ran: not stale, whenever enabled
                {**service, "job_module": 5, **ran(3, 7, T - timedelta(days=9)),
                 "disabled_at": T},
            ],
        )  # fmt: skip
        migrate()
        found = {
            row.id: (
                row.services_failing,
                row.services_backup_size_bytes,
                row.services_last_success,
            )
            for row in connection.execute(select(customers))
        }
    assert found == {
        one: (2, 150, T + timedelta(hours=1)),
        other: (0, 0, None),
    }
