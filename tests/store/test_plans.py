"""Plans PostgreSQL makes for the outbox's statements while its tables fill up: a new
deployment, or a partner's first sync, writes thousands of events before any ANALYZE, and
a prepared statement keeps the generic plan it made then. Each key must be looked up in
its own index, whatever the statistics say."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from backupjobs.store import incidents
from backupjobs.store.database import Database
from tests.services import create_postgres_database, drop_postgres_database


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def _indexes(plan: Any) -> set[str]:
    """The names of the indexes a plan (EXPLAIN's JSON) reads, at any depth."""
    found = set()
    nodes = [plan]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            if "Index Name" in node:
                found.add(node["Index Name"])
            nodes.extend(node.values())
        elif isinstance(node, list):
            nodes.extend(node)
    return found


async def test_an_event_key_is_looked_up_in_its_own_index_while_the_events_fill_up(
    postgres_url,
):
    """The plan made with the first events in (20 here, never analyzed) is the one the
    connection's prepared statement keeps as thousands more arrive. Led by the partner,
    the index of an incident's events was the one PostgreSQL chose then, reading every
    event of the partner for each key (migration 0023)."""
    db = Database(postgres_url)
    try:
        await db.migrate()
        partner = uuid.uuid4()
        async with db.read() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute(
                "INSERT INTO partners (id, name, created_at) VALUES ($1, 'P', $2)",
                partner,
                datetime.now(UTC),
            )
            await raw.execute(
                """INSERT INTO alert_events (partner_id, id, event_key, type, customer_id,
                    job_type, job_module, incident_id, job, created_at)
                SELECT $1, gen_random_uuid(), 'job.failed:' || i, 'job.failed',
                    gen_random_uuid(), 1, 1, gen_random_uuid(), repeat('x', 600), now()
                FROM generate_series(1, 20) AS i""",
                partner,
            )
            statement = incidents._made_events(connection)
            sql = str(statement.compile(dialect=connection.dialect))
            await raw.execute("SET plan_cache_mode = force_generic_plan")
            await raw.execute(f"PREPARE made AS {sql}")
            keys = json.dumps([{"key_0": f"job.failed:{i}"} for i in range(1, 101)])
            # EXECUTE takes no parameters of the protocol: literals (no quote in them).
            plan = await raw.fetchval(
                f"EXPLAIN (FORMAT JSON) EXECUTE made('{keys}', '{partner}', 1)"
            )
            await raw.execute("DEALLOCATE made; RESET plan_cache_mode")
    finally:
        await db.dispose()
    # (SQLAlchemy's connections decode json themselves.)
    assert _indexes(plan) == {"ix_alert_events_partner_id_event_key"}
