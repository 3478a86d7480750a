"""The change feed (PostgreSQL): pages answered from memory until the database notifies a
change, whichever process made it; with the feed lost, every page asks the database."""

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest
from sqlalchemy import delete, text, update

from backupjobs.alerts.service import SubscriptionSpec, create_subscription
from backupjobs.model import parse_record
from backupjobs.model.alerts import EventType
from backupjobs.readmodel import changes as feed_module
from backupjobs.store import incidents, webhooks
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import app_customers, customers
from backupjobs.store.scope import TenantScope
from tests.world import enable, ingest, job, make_tenant, now, v3_jobs_path

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
async def elsewhere(database_url):
    """The same database through another Database: what another process would write."""
    other = Database(database_url, pool_size=1)
    yield other
    await other.dispose()


@pytest.fixture
def database_refuses(db, monkeypatch) -> Callable[[], None]:
    """Call it and the job pages' reads fail: what answers then came from memory."""

    async def refused(*_arguments):
        raise AssertionError("the page asked the database")

    return lambda: monkeypatch.setattr(db._reads, "fetch_call", refused)


async def _eventually(condition, seconds=3.0):
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.01)


async def _names(client, tenant, customer):
    answer = await client.post(v3_jobs_path(customer), headers=await tenant.headers(client))
    return answer.status_code, [row["name"] for row in answer.json().get("data", [])]


async def _ingest_elsewhere(other, tenant, record):
    async with other.write() as connection:
        result = await Ingestor(other).ingest(
            connection,
            TenantScope(tenant.partner_id, tenant.client_id),
            [(0, parse_record(msgspec.Raw(msgspec.json.encode(record))))],
            now=now(),
        )
    assert result.stored == 1


async def test_a_page_read_once_is_answered_from_memory(db, client, database_refuses):
    tenant = await make_tenant(db)
    await enable(db, tenant.customers[0], 7, 304)
    assert await _names(client, tenant, tenant.customers[0]) == (200, ["N/A"])
    database_refuses()
    assert await _names(client, tenant, tenant.customers[0]) == (200, ["N/A"])


async def test_a_change_made_elsewhere_shows_once_notified(db, client, elsewhere):
    tenant = await make_tenant(db)
    customer = tenant.customers[0]
    await enable(db, customer, 7, 304)
    assert await _names(client, tenant, customer) == (200, ["N/A"])
    await _ingest_elsewhere(elsewhere, tenant, job(customer, "ELSEWHERE-1", name="Night"))

    async def shows() -> bool:
        return await _names(client, tenant, customer) == (200, ["Night"])

    await _eventually(shows)


async def test_a_change_made_here_shows_at_once(db, client, monkeypatch):
    tenant = await make_tenant(db)
    customer = tenant.customers[0]
    assert await _names(client, tenant, customer) == (200, [])
    # Not even notified: the commit itself makes this process forget what it kept.
    monkeypatch.setattr(feed_module.ChangeFeed, "forget", lambda _feed, _customer: None)
    await ingest(client, tenant, [job(customer, "HERE-1", name="Morning")])
    assert await _names(client, tenant, customer) == (200, ["Morning"])


async def test_webhook_deliveries_leave_the_pages_in_memory(db, context, client, database_refuses):
    # Every process claims due deliveries once a second and records each attempt: were
    # those commits to forget what the read model kept, every page would ask again.
    tenant = await make_tenant(db)
    customer = tenant.customers[0]
    scope = TenantScope(tenant.partner_id, tenant.client_id)
    await enable(db, customer, 7, 304)
    hook, _ = await create_subscription(
        db,
        context.alerts.box,
        scope,
        SubscriptionSpec(url="http://127.0.0.1:9/hook", events=[EventType.JOB_FAILED]),
        allow_private=True,
        default_stale_after=timedelta(hours=36),
    )
    ping = incidents.NewEvent(
        uuid.uuid4(), EventType.PING, f"ping:{uuid.uuid4().hex}", None, None, None, None
    )
    async with db.write() as connection:  # due once the page below is kept
        await incidents.write_events(
            connection,
            tenant.partner_id,
            [ping],
            now=datetime.now(UTC) + timedelta(seconds=0.5),
            only_subscription=hook.id,
        )
        (delivery,), _ = await webhooks.list_deliveries(connection, scope, hook.id, None, limit=1)
    assert await _names(client, tenant, customer) == (200, ["N/A"])
    database_refuses()

    async def attempted() -> bool:
        await context.alerts.deliverer.deliver_due()  # or the process's own round did
        async with db.read() as connection:
            found = await webhooks.get_delivery(connection, scope, hook.id, delivery.id)
        assert found is not None
        return found.attempts > 0  # a private address, refused: a failed attempt recorded

    await _eventually(attempted)
    await asyncio.sleep(feed_module.HEARTBEAT * 2)  # had it notified a change, it is heard
    assert await _names(client, tenant, customer) == (200, ["N/A"])


async def test_a_customer_taken_out_of_the_apps_scope_is_gone_once_notified(db, client, elsewhere):
    tenant = await make_tenant(db, customers=2, app_customers=[0, 1])
    customer = tenant.customers[1]
    assert (await _names(client, tenant, customer))[0] == 200
    async with elsewhere.write() as connection:
        await connection.execute(
            delete(app_customers).where(
                app_customers.c.client_id == tenant.client_id,
                app_customers.c.customer_id == customer,
            )
        )

    async def gone() -> bool:
        return (await _names(client, tenant, customer))[0] == 404

    await _eventually(gone)
    assert (await _names(client, tenant, tenant.customers[0]))[0] == 200


async def test_with_the_feed_lost_pages_ask_the_database_until_it_is_back(
    db, read_model, client, elsewhere, database_refuses
):
    tenant = await make_tenant(db)
    customer = tenant.customers[0]
    await enable(db, customer, 7, 304)
    assert await _names(client, tenant, customer) == (200, ["N/A"])
    assert read_model.changes is not None
    async with elsewhere.write() as connection:
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :n AND datname = current_database()"
            ),
            {"n": feed_module.APPLICATION_NAME},
        )

    async def lost() -> bool:
        return not read_model.changes.trusted

    await _eventually(lost, seconds=feed_module.MAX_LAG + 1)
    # Missed by the feed (it is not listening): seen because the page asks the database.
    await _ingest_elsewhere(elsewhere, tenant, job(customer, "WHILE-LOST", name="Lost"))
    assert await _names(client, tenant, customer) == (200, ["Lost"])

    async def back() -> bool:
        return read_model.changes.trusted

    await _eventually(back, seconds=feed_module.RECONNECT_DELAY + 3)
    assert await _names(client, tenant, customer) == (200, ["Lost"])
    database_refuses()
    assert await _names(client, tenant, customer) == (200, ["Lost"])


async def test_a_read_in_flight_when_its_customer_changes_is_not_kept(read_model):
    feed = read_model.changes
    assert feed is not None and feed.trusted
    customer, other = uuid.uuid4().int, uuid.uuid4().int
    ticket = feed.ticket(customer)
    feed.forget(other)
    feed.keep(ticket, customer, "scope", "read")
    assert feed.recall(customer, "scope") == "read"  # another customer's change: kept
    ticket = feed.ticket(customer)
    feed.forget(customer)
    feed.keep(ticket, customer, "scope", "stale")
    assert feed.recall(customer, "scope") is None
    ticket = feed.ticket(customer)
    feed.forget_all()
    feed.keep(ticket, customer, "scope", "stale")
    assert feed.recall(customer, "scope") is None


async def test_customers_changed_together_are_named_200_at_most_per_notification(db, database_url):
    tenant = await make_tenant(db, customers=450)
    heard: list[str] = []
    listener = await asyncpg.connect(database_url)
    try:
        await listener.add_listener(feed_module.CHANNEL, lambda *args: heard.append(args[-1]))
        async with db.write() as connection:
            await connection.execute(
                update(customers)
                .where(customers.c.partner_id == tenant.partner_id)
                .values(name=customers.c.name + " (renamed)")
            )

        async def all_heard() -> bool:
            return len(heard) == 3

        await _eventually(all_heard)
    finally:
        await listener.close()
    named = [uuid.UUID(text) for payload in heard for text in payload.split(",")]
    assert sorted(named) == sorted(tenant.customers)


async def test_the_change_counts_stay_bounded_and_a_stale_ticket_stays_void(
    read_model, monkeypatch
):
    feed = read_model.changes
    monkeypatch.setattr(feed_module, "KEPT_CUSTOMERS", 3)
    customer = uuid.uuid4().int
    ticket = feed.ticket(customer)
    feed.forget(customer)
    for _ in range(5):  # past the bound, the counts are cleared: the customer's with them
        feed.forget(uuid.uuid4().int)
    assert len(feed._changes) <= 3
    feed.keep(ticket, customer, "scope", "stale")
    assert feed.recall(customer, "scope") is None
