"""The reports' counts equal a count of the history, whatever happened to it: jobs in any
order, re-reported with a new status or start time, stale reports, retention rounds. The
counts are per service and quarter-hour (job_outcomes), per customer and UTC day
(customer_days), per customer and block of 4 UTC days (customer_blocks) and long block of
16 (customer_long_blocks), and the customers' services' figures; the summary and the days
in several time zones, which add up both, are checked against the history too. The jobs straddle a UTC midnight."""

import asyncio
import itertools
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from backupjobs.catalog import STATUSES as CATALOG_STATUSES
from backupjobs.model import parse_record
from backupjobs.model.health import is_stale
from backupjobs.store import outcomes, retention, summary
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import (
    COUNTED_STATUSES,
    backup_services,
    customer_blocks,
    customer_days,
    customer_long_blocks,
    customers,
    job_outcomes,
    jobs,
)
from backupjobs.store.scope import TenantScope
from tests.world import job, make_tenant

BASE = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
#: Whole hours, half and three-quarter hours either side of UTC.
ZONES = tuple(
    ZoneInfo(name) for name in ("UTC", "Asia/Tokyo", "America/St_Johns", "Asia/Kathmandu")
)
DAYS = tuple(date(2026, 11, 29) + timedelta(days=n) for n in range(4))
#: Summary windows: exact quarter-hours, ragged ends, shorter than a quarter-hour's row.
WINDOWS = (
    (BASE - timedelta(days=2), BASE + timedelta(days=2)),
    (BASE - timedelta(minutes=50), BASE + timedelta(minutes=65)),
    (BASE + timedelta(minutes=33, seconds=1), BASE + timedelta(minutes=47)),
    (BASE + timedelta(minutes=30), BASE + timedelta(hours=25, minutes=15)),
    # Whole blocks of 4 days (the jobs straddle the one of 2026-11-27 to 30 and the next).
    (BASE - timedelta(days=9), BASE + timedelta(days=6)),
    (BASE - timedelta(days=4, minutes=-10), BASE + timedelta(days=5, hours=7)),
    # A whole long block of 16 days (2026-11-27 to 2026-12-12, the jobs' days in it).
    (BASE - timedelta(days=5), BASE + timedelta(days=14)),
)
#: When the summaries are read: services stale, or not (staleAfter 1 hour).
NOWS = (BASE, BASE + timedelta(hours=3), BASE - timedelta(hours=2))
STATUSES = (1, 2, 3, 4, 7, 14)
MODULES = (304, 305)

report = st.tuples(
    st.integers(0, 6),  # jobId
    st.sampled_from(MODULES),
    st.sampled_from(STATUSES),
    st.one_of(st.none(), st.integers(0, 12)),  # start, in 7-minute steps (None: not started)
    st.integers(0, 40),  # lastModifyTime, in minutes after the last start
)
step = st.one_of(
    st.lists(report, min_size=1, max_size=4).map(lambda batch: ("ingest", batch)),
    st.integers(0, 14).map(lambda cutoff: ("retain", cutoff)),
)


def record(customer, job_number, module, status, start_step, modified):
    start = None if start_step is None else BASE + timedelta(minutes=7 * start_step)
    end = None if start is None or status == 1 else start + timedelta(minutes=5)
    fields = {
        "jobModule": module,
        "status": status,
        "startTime": start.isoformat() if start else None,
        "endTime": end.isoformat() if end else None,
        "backupSizeBytes": 1000 * (job_number + 1) + status,
        "lastModifyTime": (BASE + timedelta(minutes=90 + modified)).isoformat(),
    }
    job_id = f"J-{customer}-{module}-{job_number}"
    return parse_record(msgspec.json.encode(job(customer, job_id, **fields)))


def rank(row):
    """The order of a service's jobs, its latest the greatest (model.latest_sort_key)."""
    return (row.start_time or row.last_modify_time, row.job_id)


async def recount(db, partner_id):
    async with db.read() as connection:
        history = (
            await connection.execute(select(jobs).where(jobs.c.partner_id == partner_id))
        ).all()
        kept = (
            await connection.execute(
                select(job_outcomes).where(job_outcomes.c.partner_id == partner_id)
            )
        ).all()
        services = (
            await connection.execute(
                select(backup_services).where(backup_services.c.partner_id == partner_id)
            )
        ).all()
        per_day = (
            await connection.execute(
                select(customer_days).where(customer_days.c.partner_id == partner_id)
            )
        ).all()
        per_block = (
            await connection.execute(
                select(customer_blocks).where(customer_blocks.c.partner_id == partner_id)
            )
        ).all()
        per_long_block = (
            await connection.execute(
                select(customer_long_blocks).where(customer_long_blocks.c.partner_id == partner_id)
            )
        ).all()
        kept_figures = (
            await connection.execute(select(customers).where(customers.c.partner_id == partner_id))
        ).all()
        await reads_equal_a_recount(connection, partner_id, history, services)
    expected: Counter = Counter()
    for row in history:
        key = (
            row.customer_id,
            outcomes.quarter_of(row.start_time or row.last_modify_time),
            row.job_type,
            row.job_module,
            row.status,
        )
        expected[(*key, "jobs")] += 1
        expected[(*key, "bytes")] += row.backup_size_bytes or 0
        expected[(*key, "seconds")] += outcomes.job_seconds(row.start_time, row.end_time)
    found: Counter = Counter()
    for row in kept:
        key = (row.customer_id, row.quarter, row.job_type, row.job_module, row.status)
        found[(*key, "jobs")] += row.jobs
        found[(*key, "bytes")] += row.backup_size_bytes
        found[(*key, "seconds")] += row.duration_seconds
        assert row.jobs > 0
    assert +found == +expected
    expected_days: Counter = Counter()
    for (customer, quarter, _, _, status, what), value in expected.items():
        expected_days[(customer, outcomes.day_of(quarter), status if what == "jobs" else what)] += (
            value
        )
    assert +counted_per_status(per_day, "day") == +expected_days
    expected_blocks: Counter = Counter()
    for (customer, day, what), value in expected_days.items():
        expected_blocks[(customer, day // 4, what)] += value
    assert +counted_per_status(per_block, "block") == +expected_blocks
    expected_long_blocks: Counter = Counter()
    for (customer, block, what), value in expected_blocks.items():
        expected_long_blocks[(customer, block // 4, what)] += value
    assert +counted_per_status(per_long_block, "long_block") == +expected_long_blocks
    for service in services:
        runs = sorted(
            (
                row
                for row in history
                if (row.customer_id, row.job_type, row.job_module)
                == (service.customer_id, service.job_type, service.job_module)
            ),
            key=rank,
            reverse=True,
        )
        failures = 0
        for row in runs:
            if row.status not in (3, 7):
                break
            failures += 1
        success = next((r.end_time or r.start_time for r in runs if r.status in (2, 4)), None)
        assert service.consecutive_failures == failures
        assert service.last_success_time == success
    for customer in kept_figures:
        enabled = [s for s in services if s.customer_id == customer.id and s.disabled_at is None]
        successes = [s.last_success_time for s in enabled if s.last_success_time is not None]
        assert (
            customer.services_failing,
            customer.services_backup_size_bytes,
            customer.services_last_success,
        ) == (
            sum(s.latest_status in (3, 7) for s in enabled),
            sum(s.latest_backup_size_bytes or 0 for s in enabled),
            max(successes, default=None),
        )


def counted_per_status(rows, unit):
    """A customer_days, customer_blocks or customer_long_blocks row's jobs of each status, bytes and seconds,
    by (customer, day or block, status or "bytes" or "seconds")."""
    found: Counter = Counter()
    for row in rows:
        key = (row.customer_id, row._mapping[unit])
        for status in COUNTED_STATUSES:
            found[(*key, status)] += row._mapping[f"jobs_{status}"]
        found[(*key, "bytes")] += row.backup_size_bytes
        found[(*key, "seconds")] += row.duration_seconds
        assert row.jobs == sum(row._mapping[f"jobs_{s}"] for s in COUNTED_STATUSES) > 0
    return found


def figures_of(rows):
    figures = summary.Figures()
    for row in sorted(rows, key=lambda row: row.status):
        figures.add(
            row.status,
            1,
            row.backup_size_bytes or 0,
            outcomes.job_seconds(row.start_time, row.end_time),
        )
    return figures


async def reads_equal_a_recount(connection, partner_id, history, services):
    """The summary over some windows and the days in some time zones equal the history's
    jobs in them, counted one by one, and its services' figures a count of the services
    (at times that make some stale, or none)."""
    scope = TenantScope.whole_partner(partner_id)

    def quarter(row):
        return outcomes.quarter_of(row.start_time or row.last_modify_time)

    for (start, end), now in zip(WINDOWS, itertools.cycle(NOWS), strict=False):
        found = await summary.summarize(
            connection,
            scope,
            customer_ids=(),
            start=start,
            end=end,
            now=now,
            stale_after=timedelta(hours=1),
        )
        first, past_last = summary.quarter_window(start, end)
        every = figures_of(row for row in history if first <= quarter(row) < past_last)
        assert found.totals()[0] == every, (start, end)
        for customer in found.customers:
            expected = figures_of(
                row
                for row in history
                if row.customer_id == customer.customer_id and first <= quarter(row) < past_last
            )
            assert customer.window == expected, (start, end)
            enabled = [
                s
                for s in services
                if s.customer_id == customer.customer_id and s.disabled_at is None
            ]
            assert customer.stale_services == sum(
                is_stale(
                    s.latest_status,
                    last_success=s.last_success_time,
                    since=s.enabled_at,
                    now=now,
                    stale_after=timedelta(hours=1),
                )
                for s in enabled
            ), now
            assert customer.failing_services == sum(s.latest_status in (3, 7) for s in enabled)
        # A page's figures and the totals, as the API and the dashboard read them.
        page = await summary.window_figures(
            connection,
            scope,
            customer_ids=(),
            start=start,
            end=end,
            of=[c.customer_id for c in found.customers[:1]],
        )
        assert page.totals == every
        assert page.customers == {
            c.customer_id: c.window for c in found.customers[:1] if c.window.jobs
        }
    for zone in ZONES:
        days, _ = await summary.daily(
            connection,
            scope,
            summary.DayFilters(),
            days=DAYS,
            zone=zone,
            position=None,
            limit=1000,
        )
        assert days
        for entry in days:
            expected = figures_of(
                row
                for row in history
                if row.customer_id == entry.customer_id
                and outcomes.quarter_start(quarter(row)).astimezone(zone).date() == entry.day
            )
            assert entry.figures == expected, (zone, entry.day)


async def scenario(database_url, steps):
    db = Database(database_url)
    try:
        await db.migrate()
        tenant = await make_tenant(db, customers=1)
        customer = tenant.customers[0]
        ingestor = Ingestor(db)
        scope = TenantScope(tenant.partner_id, tenant.client_id)
        for kind, value in steps:
            if kind == "ingest":
                records = [record(customer, *report) for report in value]
                await ingestor.ingest_batch(scope, list(enumerate(records)))
            else:
                await retention.remove_history(db, before=BASE + timedelta(minutes=7 * value))
            await recount(db, tenant.partner_id)
    finally:
        await db.dispose()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=8))
def test_the_counts_equal_a_recount_of_the_history(database_url, steps):
    asyncio.run(scenario(database_url, steps))


@pytest.mark.postgresql_only
async def test_concurrent_batches_count_each_job_once(db):
    """Batches at once over the same services and jobIds (new jobs, re-reports, the same
    new jobId in two batches): the counts still equal a count of the history."""
    tenant = await make_tenant(db, customers=2)
    scope = TenantScope(tenant.partner_id, tenant.client_id)
    ingestor = Ingestor(db)
    rng = random.Random(15)
    for _ in range(3):
        batches = [
            [
                record(
                    rng.choice(tenant.customers),
                    rng.randrange(12),
                    rng.choice(MODULES),
                    rng.choice(STATUSES),
                    rng.choice([None, *range(12)]),
                    rng.randrange(40),
                )
                for _ in range(8)
            ]
            for _ in range(4)
        ]
        results = await asyncio.gather(
            *(ingestor.ingest_batch(scope, list(enumerate(batch))) for batch in batches),
            return_exceptions=True,
        )
        assert not [r for r in results if isinstance(r, BaseException)], results
    await recount(db, tenant.partner_id)


def test_every_status_of_the_catalog_is_counted_apart():
    assert tuple(entry.code for entry in CATALOG_STATUSES) == COUNTED_STATUSES
