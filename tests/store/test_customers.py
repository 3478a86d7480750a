"""Customers at the store: the profile written and read back, each jobStatus reached
through ingestion (and 6 through time alone), and which job is a service's latest."""

from datetime import timedelta
from uuid import uuid4

import pytest

from backupjobs.model import CustomerProfile, Tenant
from backupjobs.model.health import CustomerJobStatus as S
from backupjobs.store import directory
from backupjobs.store.directory import CustomerChanges, HealthClock
from tests.jobs import NOW, nightly, record, scope
from tests.store.test_ingestion import store
from tests.world import enable, make_tenant

STALE_AFTER = timedelta(hours=36)
#: A day after the last nightly run below (day 10 of tests.jobs.START): nothing is stale.
FRESH = HealthClock(NOW, STALE_AFTER)


async def job_status(db, tenant, customer, clock=FRESH):
    async with db.read() as connection:
        found = await directory.get_customer(connection, scope(tenant), customer, clock=clock)
    assert found is not None
    return found.job_status


async def test_the_profile_is_written_checked_and_changed(db):
    tenant = await make_tenant(db, customers=1)
    profile = CustomerProfile(
        owner_email=" admin@contoso.com ",
        country_or_region="Germany",
        management_mode=0,
        tenants=(Tenant("t-2", "Zeta tenant"), Tenant("t-1", "Alpha tenant")),
    )
    async with db.write() as connection:
        made = await directory.create_customer(
            connection, tenant.partner_id, "Contoso", profile=profile, now=NOW
        )
    async with db.read() as connection:
        found = await directory.get_customer(connection, scope(tenant), made, clock=FRESH)
    assert found is not None
    assert (found.organization, found.owner_email, found.country_or_region) == (
        "Contoso", "admin@contoso.com", "Germany",
    )  # fmt: skip
    assert found.management_mode == 0 and found.job_status == S.NOT_AVAILABLE
    assert found.tenants == (Tenant("t-1", "Alpha tenant"), Tenant("t-2", "Zeta tenant"))

    changes = CustomerChanges(owner_email="", management_mode=1, tenants=(Tenant("x", "X"),))
    async with db.write() as connection:
        before, after = await directory.update_customer(connection, made, changes)
    assert CustomerChanges.differences(before, after) == {
        "owner_email": ("admin@contoso.com", ""),
        "management_mode": (0, 1),
        "tenants": (found.tenants, (Tenant("x", "X"),)),
    }
    # An existing customer (made without a profile) reads as unknown, to be configured.
    async with db.read() as connection:
        plain = await directory.get_customer(
            connection, scope(tenant), tenant.customers[0], clock=FRESH
        )
    assert plain is not None
    assert (plain.owner_email, plain.country_or_region, plain.management_mode, plain.tenants) == (
        "", "", 2, (),
    )  # fmt: skip
    async with db.write() as connection:
        removal = await directory.delete_customer(connection, made)
    assert removal.customer.tenants == (Tenant("x", "X"),)


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (CustomerProfile(owner_email="not-an-email"), "owner email"),
        (CustomerProfile(owner_email="a@b.c" + "x" * 250), "owner email"),
        (CustomerProfile(country_or_region="x" * 101), "country or region"),
        (CustomerProfile(country_or_region="bad\x00"), "country or region"),
        (CustomerProfile(management_mode=3), "management mode 3 is not one of 0"),
        (CustomerProfile(tenants=(Tenant("", "A"),)), "tenant id"),
        (CustomerProfile(tenants=(Tenant("a", "A"), Tenant("a", "B"))), "given twice"),
        (CustomerProfile(tenants=(Tenant("a", " "),)), "tenant 'a'"),
    ],
)
async def test_bad_profile_values_are_refused_naming_the_field(db, given, named):
    tenant = await make_tenant(db, customers=0)
    with pytest.raises(ValueError, match=named):
        async with db.write() as connection:
            await directory.create_customer(
                connection, tenant.partner_id, "Bad", profile=given, now=NOW
            )


async def test_each_job_status_through_ingestion(ingestor, db):
    tenant = await make_tenant(db, customers=7)
    none, working, failed, waiting, several, exception, silent = tenant.customers
    await enable(db, waiting, 7, 302)  # a service that never ran (and nothing else)
    await store(ingestor, db, tenant, [
        nightly(working, 302, 10), nightly(working, 303, 10, status=1),
        nightly(failed, 302, 10, status=3), nightly(failed, 303, 10),
        nightly(several, 302, 10, status=7), nightly(several, 303, 10, status=4),
        nightly(exception, 302, 10, status=4),
        nightly(silent, 302, 5), nightly(silent, 303, 10),
    ])  # fmt: skip
    expected = {
        none: S.NOT_AVAILABLE,
        working: S.WORKING,
        failed: S.FAILED,
        waiting: S.WAITING_FOR_CONFIGURATION,
        several: S.MULTIPLE_ISSUES,
        exception: S.FINISHED_WITH_EXCEPTION,
        silent: S.NO_BACKUP_UPDATES,
    }
    async with db.read() as connection:
        page = await directory.customer_page(connection, scope(tenant), clock=FRESH)
    assert {c.id: c.job_status for c in page.rows} == expected
    # Waiting for configuration, reported by a job (status 14), on a customer that works.
    await store(ingestor, db, tenant, [nightly(working, 304, 10, status=14)])
    assert await job_status(db, tenant, working) == S.WAITING_FOR_CONFIGURATION


async def test_no_backup_updates_comes_with_time_alone(ingestor, db):
    tenant = await make_tenant(db, customers=1)
    c = tenant.customers[0]
    await store(ingestor, db, tenant, [nightly(c, 302, 10)])  # changed last at day 10, 03:30
    last_change = NOW - timedelta(days=1) + timedelta(hours=3, minutes=30)
    just_fresh = HealthClock(last_change + STALE_AFTER, STALE_AFTER)
    assert await job_status(db, tenant, c, just_fresh) == S.WORKING
    later = HealthClock(last_change + STALE_AFTER + timedelta(seconds=1), STALE_AFTER)
    assert await job_status(db, tenant, c, later) == S.NO_BACKUP_UPDATES
    # The threshold is the deployment's (BACKUPJOBS_STALE_AFTER).
    assert await job_status(db, tenant, c, HealthClock(later.now, timedelta(days=3))) == S.WORKING


async def test_disabled_services_do_not_count(ingestor, db):
    tenant = await make_tenant(db, customers=1)
    c = tenant.customers[0]
    await store(ingestor, db, tenant, [nightly(c, 302, 10), nightly(c, 303, 10, status=3)])
    assert await job_status(db, tenant, c) == S.FAILED
    async with db.write() as connection:
        await directory.disable_service(connection, c, 7, 303, now=NOW)
    assert await job_status(db, tenant, c) == S.WORKING
    async with db.write() as connection:
        await directory.disable_service(connection, c, 7, 302, now=NOW)
    assert await job_status(db, tenant, c) == S.NOT_AVAILABLE


async def test_another_partners_or_an_unscoped_customer_is_absent(db):
    a = await make_tenant(db, customers=2, app_customers=[0])
    b = await make_tenant(db, customers=1)
    for customer in (a.customers[1], b.customers[0]):
        async with db.read() as connection:
            assert (
                await directory.get_customer(connection, scope(a), customer, clock=FRESH)
            ) is None
    async with db.read() as connection:
        page = await directory.customer_page(
            connection, scope(a), clock=FRESH, customer_ids=[*a.customers, *b.customers]
        )
    assert [c.id for c in page.rows] == [a.customers[0]] and page.total == 1


async def latest_job_id(db, tenant, customer):
    async with db.read() as connection:
        [service] = await directory.list_services(connection, customer_id=customer)
    return service.latest_job_id


async def test_the_latest_job_is_the_greatest_start_or_last_modification_then_job_id(ingestor, db):
    tenant = await make_tenant(db, customers=1)
    c = tenant.customers[0]
    at = "2025-09-11T03:00:00Z"
    done = record(c, "B-done", startTime=at, endTime="2025-09-11T04:00:00Z",
                  lastModifyTime="2025-09-11T04:00:00Z")  # fmt: skip
    await store(ingestor, db, tenant, [done])
    # Not started, changed before "done" started: not the latest.
    early = record(c, "Z-early", status=6, startTime=None, endTime=None,
                   lastModifyTime="2025-09-11T02:59:59Z")  # fmt: skip
    await store(ingestor, db, tenant, [early])
    assert await latest_job_id(db, tenant, c) == "B-done"
    # Same sort time, greater jobId: the latest (one batch, or one at a time).
    tie = record(c, "C-tie", status=6, startTime=None, endTime=None, lastModifyTime=at)
    await store(ingestor, db, tenant, [tie])
    assert await latest_job_id(db, tenant, c) == "C-tie"
    lesser = record(c, "A-lesser", startTime=at, endTime=None, status=1,
                    lastModifyTime="2025-09-11T05:00:00Z")  # fmt: skip
    await store(ingestor, db, tenant, [lesser])
    assert await latest_job_id(db, tenant, c) == "C-tie"
    # The latest starts before the others: the next best is found again, among started
    # and not-started jobs alike.
    moved = record(c, "C-tie", status=1, startTime="2025-09-11T01:00:00Z", endTime=None,
                   lastModifyTime="2025-09-11T06:00:00Z")  # fmt: skip
    await store(ingestor, db, tenant, [moved])
    assert await latest_job_id(db, tenant, c) == "B-done"
    later_early = record(c, "Z-early", status=6, startTime=None, endTime=None,
                         lastModifyTime="2025-09-11T03:00:01Z")  # fmt: skip
    await store(ingestor, db, tenant, [later_early])
    assert await latest_job_id(db, tenant, c) == "Z-early"
    started_early = record(c, "Z-early", status=1, startTime="2025-09-11T00:00:00Z",
                           endTime=None, lastModifyTime="2025-09-11T07:00:00Z")  # fmt: skip
    await store(ingestor, db, tenant, [started_early])
    assert await latest_job_id(db, tenant, c) == "B-done"


def test_the_migration_sums_up_existing_customers_services(tmp_path):
    """Customers made before 0011_customer_profile: empty profile, and their jobStatus
    from the services they had (the summary computed by the migration)."""
    from sqlalchemy import select  # noqa: PLC0415

    from backupjobs.model.health import ServicesSummary, summary_job_status  # noqa: PLC0415
    from backupjobs.store.schema import backup_services, customers, partners  # noqa: PLC0415
    from tests.store.migrating import just_before  # noqa: PLC0415

    partner, failed, waiting, none = (uuid4() for _ in range(4))
    with just_before(tmp_path / "older.db", "0011_customer_profile") as (connection, migrate):
        connection.execute(partners.insert().values(id=partner, name="P", created_at=NOW))
        for customer in (failed, waiting, none):
            connection.execute(
                customers.insert().values(partner_id=partner, id=customer, name="C", created_at=NOW)
            )
        service = {"partner_id": partner, "job_type": 7, "enabled_at": NOW, "disabled_at": None,
                   "latest_job_id": None, "latest_status": None,
                   "latest_last_modify_time": None}  # fmt: skip
        old = NOW - timedelta(days=3)
        connection.execute(
            backup_services.insert(),
            [
                {**service, "customer_id": failed, "job_module": 302, "latest_job_id": "a",
                 "latest_status": 3, "latest_last_modify_time": NOW},
                {**service, "customer_id": failed, "job_module": 303, "latest_job_id": "b",
                 "latest_status": 2, "latest_last_modify_time": old},
                {**service, "customer_id": failed, "job_module": 304, "disabled_at": NOW,
                 "latest_job_id": "c", "latest_status": 4, "latest_last_modify_time": NOW},
                {**service, "customer_id": waiting, "job_module": 302},
            ],
        )  # fmt: skip
        migrate()
        rows = {
            row.id: row
            for row in connection.execute(
                select(
                    customers.c.id, customers.c.owner_email, customers.c.management_mode,
                    customers.c.services_enabled, customers.c.services_ran,
                    customers.c.services_problems, customers.c.services_oldest_change,
                )
            )
        }  # fmt: skip

    def status(customer):
        row = rows[customer]
        summary = ServicesSummary(*row[3:])
        return summary_job_status(summary, now=NOW, stale_after=STALE_AFTER)

    assert {customer: (rows[customer][1], rows[customer][2]) for customer in rows} == dict.fromkeys(
        (failed, waiting, none), ("", 2)
    )
    assert tuple(rows[failed][3:]) == (2, 2, 1, old)
    assert status(failed) == S.MULTIPLE_ISSUES  # failed, and one silent for three days
    assert status(waiting) == S.WAITING_FOR_CONFIGURATION
    assert status(none) == S.NOT_AVAILABLE
