"""Retention removes history older than the window, never a service's latest job, one
process at a time on PostgreSQL; the service's background round starts with the API."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import insert, select, text

from backupjobs.api import build_application
from backupjobs.model import parse_record
from backupjobs.store import retention
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import (
    alert_events,
    alert_incidents,
    jobs,
    webhook_attempts,
    webhook_deliveries,
    webhook_subscriptions,
)
from backupjobs.store.scope import TenantScope
from tests.world import job, make_tenant

NOW = datetime.now(UTC)


def run(customer, job_id, days_ago, **fields):
    start = NOW - timedelta(days=days_ago)
    end = start + timedelta(hours=1)
    values = {
        "startTime": start.isoformat(),
        "endTime": end.isoformat(),
        "lastModifyTime": end.isoformat(),
        **fields,
    }
    return parse_record(msgspec.json.encode(job(customer, job_id, **values)))


async def store(db, tenant, records):
    async with db.write() as connection:
        await Ingestor(db).ingest(
            connection,
            TenantScope(tenant.partner_id, tenant.client_id),
            list(enumerate(records)),
            now=NOW,
        )


async def history(db, tenant):
    async with db.read() as connection:
        rows = await connection.scalars(
            select(jobs.c.job_id).where(jobs.c.partner_id == tenant.partner_id)
        )
        return set(rows)


async def test_old_history_goes_and_every_latest_job_stays(db):
    tenant = await make_tenant(db, customers=2)
    c, d = tenant.customers
    await store(db, tenant, [
        run(c, "c-old", 40), run(c, "c-recent", 5),
        # The only job of its service is also its latest: it stays, however old.
        run(c, "c-lonely-old", 60, jobModule=302),
        # Never started: judged by when it was last reported (the later jobId is the
        # latest of two jobs not started).
        run(c, "c-pending-a-old", 0, jobModule=305, startTime=None, endTime=None, status=6,
            lastModifyTime=(NOW - timedelta(days=45)).isoformat()),
        run(c, "c-pending-b-new", 0, jobModule=305, startTime=None, endTime=None, status=6),
        run(d, "d-old-1", 50), run(d, "d-old-2", 40), run(d, "d-old-latest", 35),
    ])  # fmt: skip
    before = await history(db, tenant)
    removed = await retention.remove_history(db, before=NOW - timedelta(days=30))
    kept = await history(db, tenant)
    assert before - kept == {"c-old", "c-pending-a-old", "d-old-1", "d-old-2"}
    assert removed >= 4  # other tests' tenants share the database
    assert kept == {"c-recent", "c-lonely-old", "c-pending-b-new", "d-old-latest"}
    # Nothing more to remove: a second round removes none of this tenant's jobs.
    await retention.remove_history(db, before=NOW - timedelta(days=30))
    assert await history(db, tenant) == kept


async def test_retention_visits_every_service_chunk(db, monkeypatch):
    monkeypatch.setattr(retention, "SERVICES_PER_CHUNK", 2)
    tenant = await make_tenant(db, customers=3)
    records = []
    for customer in tenant.customers:
        for module in (302, 303, 304):
            records += [
                run(customer, f"{customer.hex[:8]}-{module}-{age}", age, jobModule=module)
                for age in (1, 40, 41)
            ]
    await store(db, tenant, records)
    await retention.remove_history(db, before=NOW - timedelta(days=30))
    assert await history(db, tenant) == {
        f"{customer.hex[:8]}-{module}-1"
        for customer in tenant.customers
        for module in (302, 303, 304)
    }


async def test_the_alerts_history_goes_but_what_is_pending_or_open_stays(db):
    """Deliveries done with before the cutoff go with their attempts; then events no
    delivery names and of no open incident; then incidents closed before it."""
    tenant = await make_tenant(db)
    partner, customer = tenant.partner_id, tenant.customers[0]
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=5)
    subscription = uuid.uuid4()
    incident = {name: uuid.uuid4() for name in ("closed-old", "open-old", "closed-recent")}
    event = {
        name: uuid.uuid4() for name in ("done", "pending", "open", "recent", "unnamed", "ping")
    }
    made = {"recent": recent}
    of_incident = {"done": "closed-old", "open": "open-old"}
    # Each event's delivery (none for "unnamed": its subscription was deleted).
    status = {"done": "delivered", "pending": "pending", "open": "failed", "recent": "delivered"}
    status["ping"] = "skipped"
    delivery = {name: uuid.uuid4() for name in status}
    async with db.write() as connection:
        await connection.execute(
            insert(webhook_subscriptions),
            [
                {
                    "partner_id": partner, "id": subscription, "client_id": tenant.client_id,
                    "url": "https://psa.example.com/hook", "event_mask": 1,
                    "all_customers": True, "stale_after_seconds": 86400,
                    "format": "standard", "enabled": True, "secret": b"sealed",
                    "created_at": old, "updated_at": old,
                }
            ],
        )  # fmt: skip
        await connection.execute(
            insert(alert_incidents),
            [
                {
                    "partner_id": partner, "customer_id": customer, "id": incident[name],
                    "job_type": 1, "job_module": module, "cause": "failed",
                    "opened_at": old - timedelta(days=1),
                    "closed_at": {"closed-old": old, "open-old": None}.get(name, recent),
                }
                for module, name in enumerate(incident, start=302)
            ],
        )  # fmt: skip
        await connection.execute(
            insert(alert_events),
            [
                {
                    "partner_id": partner, "id": event[name], "event_key": f"k:{event[name]}",
                    "type": "ping" if name == "ping" else "job.failed",
                    "customer_id": None if name == "ping" else customer,
                    "incident_id": incident.get(of_incident.get(name, "")),
                    "created_at": made.get(name, old),
                }
                for name in event
            ],
        )  # fmt: skip
        await connection.execute(
            insert(webhook_deliveries),
            [
                {
                    "partner_id": partner, "id": delivery[name],
                    "subscription_id": subscription, "event_id": event[name],
                    "status": status[name], "attempts": 1,
                    "next_attempt_at": made.get(name, old), "created_at": made.get(name, old),
                }
                for name in delivery
            ],
        )  # fmt: skip
        await connection.execute(
            insert(webhook_attempts),
            [
                {
                    "partner_id": partner, "delivery_id": delivery[name], "number": 1,
                    "started_at": made.get(name, old), "duration_ms": 20,
                }
                for name in delivery
            ],
        )  # fmt: skip

    assert await retention.remove_alert_history(db, before=NOW - timedelta(days=30)) >= 6

    async def kept(column, ids):
        async with db.read() as connection:
            found = set(await connection.scalars(select(column).where(column.in_(ids.values()))))
        return {name for name, value in ids.items() if value in found}

    assert await kept(webhook_deliveries.c.id, delivery) == {
        "pending",
        "recent",
    }
    assert await kept(webhook_attempts.c.delivery_id, delivery) == {"pending", "recent"}
    assert await kept(alert_events.c.id, event) == {"pending", "open", "recent"}
    assert await kept(alert_incidents.c.id, incident) == {
        "open-old",
        "closed-recent",
    }


@pytest.mark.postgresql_only
async def test_one_process_at_a_time_on_postgresql(db):
    async with db.engine.connect() as holder:
        await holder.execute(
            text("SELECT pg_advisory_lock(:key)"), {"key": retention._RETENTION_LOCK}
        )
        assert await retention.run_once(db, 30) is None
        await holder.execute(
            text("SELECT pg_advisory_unlock(:key)"), {"key": retention._RETENTION_LOCK}
        )
        await holder.commit()
    assert await retention.run_once(db, 30) is not None


async def test_the_service_removes_history_in_the_background(db, settings):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await store(db, tenant, [run(c, "bg-old", 40), run(c, "bg-new", 1)])
    app = build_application(settings.with_changes(retention_days=30))
    async with app.lifespan():  # the first round runs as the service starts
        for _ in range(100):
            if await history(db, tenant) == {"bg-new"}:
                break
            await asyncio.sleep(0.05)
    assert await history(db, tenant) == {"bg-new"}


async def test_the_service_keeps_everything_by_default(db, settings):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await store(db, tenant, [run(c, "default-old", 4000), run(c, "default-new", 1)])
    app = build_application(settings)
    async with app.lifespan():
        await asyncio.sleep(0.2)
    assert await history(db, tenant) == {"default-old", "default-new"}
