"""The upstream sync's tables: the partner-wide scope it writes under, the lease."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backupjobs.store import upstreams
from backupjobs.store.schema import customers
from backupjobs.store.scope import TenantScope
from backupjobs.store.upstreams import Upstream
from tests.jobs import record
from tests.world import make_tenant

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


async def test_the_partner_wide_scope_sees_every_customer_of_its_partner_and_no_other(db, ingestor):
    mine = await make_tenant(db, customers=2, app_customers=[0])
    theirs = await make_tenant(db, customers=1)
    scope = TenantScope.whole_partner(mine.partner_id)
    await ingestor.ingest_batch(scope, [(0, record(mine.customers[1], "PW-mine"))])
    await ingestor.ingest_batch(
        TenantScope(theirs.partner_id, theirs.client_id),
        [(0, record(theirs.customers[0], "PW-theirs"))],
    )
    async with db.read() as connection:
        visible = await connection.scalars(
            select(customers.c.id).where(
                scope.conditions.allows(customers.c.partner_id, customers.c.id)
            )
        )
        assert set(visible.all()) == set(mine.customers)  # not narrowed by any app
        found = await upstreams.stored_modify_times(connection, scope, {"PW-mine", "PW-theirs"})
    assert set(found) == {"PW-mine"}
    # Another partner's customer is unknown to it, as to an app.
    result = await ingestor.ingest_batch(scope, [(0, record(theirs.customers[0], "PW-x"))])
    assert result.rejected[0].error == f"unknown customer {theirs.customers[0]}"
    # Statements built for apps take its empty client id: no app has it, they see nothing.
    assert scope.parameters()["scope_client_id"] == ""


async def test_the_lease_is_one_holder_at_a_time_until_it_lapses(db):
    tenant = await make_tenant(db, customers=0)
    upstream = Upstream(
        tenant.partner_id, "leased", "http://a.example", "http://a.example/t", "c",
        "/secret", None, None, 60, NOW,
    )  # fmt: skip
    async with db.write() as connection:
        await upstreams.add_upstream(connection, upstream)
        until = NOW + timedelta(seconds=60)
        assert await upstreams.take_lease(connection, upstream, "one", now=NOW, until=until)
        assert not await upstreams.take_lease(connection, upstream, "two", now=NOW, until=until)
        # Its holder renews it; after it lapses, another takes it.
        assert await upstreams.take_lease(connection, upstream, "one", now=NOW, until=until)
        later = until + timedelta(seconds=1)
        assert await upstreams.take_lease(
            connection, upstream, "two", now=later, until=later + timedelta(seconds=60)
        )
        assert (await upstreams.lease_holder(connection, upstream))[0] == "two"
        # Only its holder releases it.
        await upstreams.release_lease(connection, upstream, "one")
        assert (await upstreams.lease_holder(connection, upstream))[0] == "two"
        await upstreams.release_lease(connection, upstream, "two")
        assert (await upstreams.lease_holder(connection, upstream))[0] is None
