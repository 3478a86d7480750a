"""Migration 0013_history_latest_order counts each service's last success and failures in
a row again in the order that chooses its latest job (sort time, then jobId)."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import select

from backupjobs.store.schema import backup_services, jobs
from tests.store.migrating import just_before

T = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def test_a_job_not_started_ranks_by_its_last_change_not_above_all(tmp_path):
    partner, customer = uuid4(), uuid4()
    service = {"partner_id": partner, "customer_id": customer, "job_type": 7}

    def run(module, job_id, status, start, modified):
        end = None if start is None or status == 1 else start + timedelta(minutes=5)
        return {**service, "job_module": module, "job_id": job_id, "status": status,
                "start_time": start, "end_time": end, "last_modify_time": modified,
                "recorded_at": T}  # fmt: skip

    with just_before(tmp_path / "older.db", "0013_history_latest_order") as (connection, migrate):
        # As 0009 counted them: the job waiting since before the failures on top.
        connection.execute(
            backup_services.insert(),
            [
                {**service, "job_module": 304, "enabled_at": T, "consecutive_failures": 0,
                 "last_success_time": None},
                {**service, "job_module": 302, "enabled_at": T, "consecutive_failures": 0,
                 "last_success_time": None},
            ],
        )  # fmt: skip
        connection.execute(
            jobs.insert(),
            [
                # 304: waiting (not started) since 2 days ago, then two failures.
                run(304, "W", 14, None, T - timedelta(days=2)),
                run(304, "F1", 3, T - timedelta(days=1), T - timedelta(days=1)),
                run(304, "F2", 7, T, T),
                # 302: a success reported with no start 5 days ago, then one that ran.
                run(302, "S1", 2, None, T - timedelta(days=5)),
                run(302, "S2", 2, T - timedelta(days=1), T - timedelta(days=1)),
            ],
        )
        migrate()
        found = {
            row.job_module: (row.consecutive_failures, row.last_success_time)
            for row in connection.execute(select(backup_services))
        }
    assert found == {
        304: (2, None),
        302: (0, T - timedelta(days=1) + timedelta(minutes=5)),
    }
