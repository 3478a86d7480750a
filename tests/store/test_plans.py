"""Plans PostgreSQL makes for the outbox's statements while its tables fill up: a new
deployment, or a partner's first sync, writes thousands of events before any ANALYZE, and
a prepared statement keeps the generic plan it made then. Each key must be looked up in
its own index, whatever the statistics say."""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
from sqlalchemy import event

from backupjobs.model.alerts import DeliveryStatus
from backupjobs.store import incidents, webhooks
from backupjobs.store.database import Database
from tests.services import create_postgres_database, drop_postgres_database
from tests.world import make_tenant


@pytest.fixture
async def fresh_db() -> AsyncIterator[Database]:
    """A new PostgreSQL database, migrated, no row in it."""
    url = await anyio.to_thread.run_sync(create_postgres_database)
    db = Database(url)
    try:
        await db.migrate()
        yield db
    finally:
        await db.dispose()
        await anyio.to_thread.run_sync(drop_postgres_database, url)


@asynccontextmanager
async def raw_connection(db: Database) -> AsyncIterator[Any]:
    """asyncpg's connection under one of ``db``'s: the rows and the EXPLAINs as written."""
    async with db.read() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        yield raw


def _nodes(plan: Any) -> list[dict[str, Any]]:
    """Every node of a plan (EXPLAIN's JSON, which SQLAlchemy's connections decode)."""
    found = []
    nodes = [plan]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            if "Node Type" in node:
                found.append(node)
            nodes.extend(node.values())
        elif isinstance(node, list):
            nodes.extend(node)
    return found


def _indexes(plan: Any) -> set[str]:
    """The names of the indexes a plan reads."""
    return {node["Index Name"] for node in _nodes(plan) if "Index Name" in node}


async def test_an_event_key_is_looked_up_in_its_own_index_while_the_events_fill_up(fresh_db):
    """The plan made with the first events in (20 here, never analyzed) is the one the
    connection's prepared statement keeps as thousands more arrive. Led by the partner,
    the index of an incident's events was the one PostgreSQL chose then, reading every
    event of the partner for each key (migration 0023)."""
    partner = (await make_tenant(fresh_db)).partner_id
    async with fresh_db.read() as connection:
        sql = str(incidents._made_events(connection).compile(dialect=connection.dialect))
    async with raw_connection(fresh_db) as raw:
        await raw.execute(
            """INSERT INTO alert_events (partner_id, id, event_key, type, customer_id,
                job_type, job_module, incident_id, job, created_at)
            SELECT $1, gen_random_uuid(), 'job.failed:' || i, 'job.failed',
                gen_random_uuid(), 1, 1, gen_random_uuid(), repeat('x', 600), now()
            FROM generate_series(1, 20) AS i""",
            partner,
        )
        await raw.execute("SET plan_cache_mode = force_generic_plan")
        await raw.execute(f"PREPARE made AS {sql}")
        keys = json.dumps([{"key_0": f"job.failed:{i}"} for i in range(1, 101)])
        # EXECUTE takes no parameters of the protocol: literals (no quote in them).
        plan = await raw.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE made('{keys}', '{partner}', 1)")
        await raw.execute("DEALLOCATE made; RESET plan_cache_mode")
    assert _indexes(plan) == {"ix_alert_events_partner_id_event_key"}


async def test_outcomes_are_recorded_through_the_deliveries_primary_key(fresh_db):
    """Joined to the outcomes given alone, the UPDATE read every delivery ever made (a
    hash join over a sequential scan) until the table passed about 30,000 rows."""
    claim, subscription = uuid.uuid4(), uuid.uuid4()
    partner = (await make_tenant(fresh_db)).partner_id
    async with raw_connection(fresh_db) as raw:
        await raw.execute(
            """INSERT INTO webhook_subscriptions (partner_id, id, client_id, url,
                event_mask, all_customers, stale_after_seconds, format, enabled, secret,
                created_at, updated_at)
            VALUES ($1, $2, 'app', 'https://psa.example.com/hook', 1, true, 86400,
                'standard', true, '\\x00', now(), now())""",
            partner,
            subscription,
        )
        ids = await raw.fetch(
            """INSERT INTO webhook_deliveries (partner_id, id, subscription_id, event_id,
                status, attempts, next_attempt_at, created_at, claim)
            SELECT $1, gen_random_uuid(), $2, gen_random_uuid(), 'pending', 0, now(), now(),
                $3
            FROM generate_series(1, 10000) RETURNING id""",
            partner,
            subscription,
            claim,
        )
        await raw.execute("ANALYZE webhook_deliveries")
    now = datetime.now(UTC)
    event_of = webhooks.StoredEvent(
        uuid.uuid4(), "job.failed", now, None, None, None, None, None, None
    )
    outcomes = [
        webhooks.Outcome(
            webhooks.Claimed(partner, row["id"], claim, 0, now, subscription, event_of),
            DeliveryStatus.DELIVERED,
            response_status=204,
        )
        for row in ids[:50]
    ]
    written: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("UPDATE webhook_deliveries"):
            written.append((statement, parameters))

    event.listen(fresh_db.engine.sync_engine, "before_cursor_execute", seen)
    async with fresh_db.write() as connection:
        assert len(await webhooks.finish_attempts(connection, outcomes, now=now)) == 50
    event.remove(fresh_db.engine.sync_engine, "before_cursor_execute", seen)
    ((statement, parameters),) = written
    async with raw_connection(fresh_db) as raw:
        plan = await raw.fetchval(f"EXPLAIN (FORMAT JSON) {statement}", *parameters)
    scans = [
        node["Node Type"]
        for node in _nodes(plan)
        if node.get("Relation Name") == "webhook_deliveries" and "Scan" in node["Node Type"]
    ]
    assert scans and "Seq Scan" not in scans
    assert "pk_webhook_deliveries" in _indexes(plan)
