"""The demo's history shows every report something: a customer gone quiet (stale), one
that failed one night and recovered the next, failures, weeks of days, whatever the time
of day it is made at."""

from datetime import UTC, datetime, timedelta

import pytest

from backupjobs.cli.demo import seed_demo
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from backupjobs.store.history import JobFilters, history_page
from backupjobs.store.scope import TenantScope
from backupjobs.store.service_health import ServiceFilters, services_page
from backupjobs.store.summary import summarize


# Before the nightly runs have started (they start by 04:15 UTC), while they may run,
# and after: at 00:45 UTC the demo once had no recovering customer.
@pytest.mark.parametrize("hour", [0.75, 3.5, 6.0, 12.25, 23.5])
async def test_the_demo_has_a_quiet_and_a_recovering_customer(sqlite_url, hour):
    now = datetime(2026, 6, 15, tzinfo=UTC) + timedelta(hours=hour)
    made = await seed_demo(Settings(database_url=sqlite_url), days=21, now=now)
    db = Database(sqlite_url)
    try:
        scope = TenantScope(made.partner_id, made.client_id)
        async with db.read() as connection:
            rows, _ = await services_page(
                connection, scope, ServiceFilters(), None,
                now=now, stale_after=timedelta(hours=36), limit=1000,
            )  # fmt: skip
            failed_lately, _ = await history_page(
                connection, scope, JobFilters(statuses=(3,), started_from=now - timedelta(days=3)),
                None, limit=1000,
            )  # fmt: skip
            summary = await summarize(
                connection, scope, customer_ids=(), start=now - timedelta(days=21),
                end=now + timedelta(minutes=1), now=now, stale_after=timedelta(hours=36),
            )  # fmt: skip
    finally:
        await db.dispose()
    by_customer: dict[str, list] = {}
    for row in rows:
        by_customer.setdefault(row.customer_name, []).append(row)
    quiet = [name for name, services in by_customer.items() if all(
        s.latest_start_time is None or s.latest_start_time < now - timedelta(days=2)
        for s in services
    )]  # fmt: skip
    assert len(quiet) == 1
    # Every service of one customer failed in the last three days and finished since.
    failed_by = {}
    for job in failed_lately:
        failed_by.setdefault(job.customer_name, set()).add((job.job_type, job.job_module))
    recovering = [
        name
        for name, services in by_customer.items()
        if services
        and failed_by.get(name) == {(s.job_type, s.job_module) for s in services if s.latest_status}
        and all(s.latest_status in (None, 2) for s in services)
    ]
    assert len(recovering) == 1
    assert summary.customers[0].window.jobs > 0
    assert any(c.failing_services for c in summary.customers)
    assert any(c.stale_services for c in summary.customers)
