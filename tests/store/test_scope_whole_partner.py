"""The partner's staff (dashboard users) see every customer of their partner, and only those:
the whole-partner scope of store/scope.py."""

from datetime import UTC, datetime, timedelta

from backupjobs.store import directory
from backupjobs.store.scope import TenantScope
from tests.world import make_tenant

CLOCK = directory.HealthClock(datetime.now(UTC), timedelta(hours=36))


async def test_the_whole_partner_scope_sees_every_customer_of_its_partner(db):
    ours = await make_tenant(db, customers=3, app_customers=[0])
    theirs = await make_tenant(db, customers=1)
    staff = TenantScope.whole_partner(ours.partner_id)

    async with db.read() as connection:
        page = await directory.customer_page(connection, staff, limit=10, clock=CLOCK)
        assert sorted(row.id for row in page.rows) == sorted(ours.customers)
        assert (
            await directory.get_customer(connection, staff, theirs.customers[0], clock=CLOCK)
            is None
        )
    # An app scoped to one customer still sees only that one: the rule for apps holds.
    app = TenantScope(ours.partner_id, ours.client_id)
    async with db.read() as connection:
        seen = await directory.customer_page(connection, app, limit=10, clock=CLOCK)
    assert [row.id for row in seen.rows] == [ours.customers[0]]


async def test_a_scope_rebuilt_from_the_empty_client_id_is_the_whole_partner(db):
    """What the dashboard's users make (a webhook subscription) stores the client id "":
    rebuilt from that row, the scope is still the whole partner's."""
    ours = await make_tenant(db, customers=2)
    rebuilt = TenantScope(ours.partner_id, "")
    async with db.read() as connection:
        page = await directory.customer_page(connection, rebuilt, limit=10, clock=CLOCK)
    assert sorted(row.id for row in page.rows) == sorted(ours.customers)
