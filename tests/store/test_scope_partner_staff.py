"""The partner's staff (dashboard users) see every customer of their partner, and only those."""

from backupjobs.store import directory
from backupjobs.store.scope import TenantScope
from backupjobs.store.services import services_revision
from tests.world import make_tenant


async def test_the_partner_staff_see_every_customer_of_their_partner(db):
    ours = await make_tenant(db, customers=3, app_customers=[0])
    theirs = await make_tenant(db, customers=1)
    staff = TenantScope.partner_staff(ours.partner_id)

    async with db.read() as connection:
        page = await directory.customer_page(connection, staff, limit=10)
        assert sorted(row.id for row in page.rows) == sorted(ours.customers)
        assert await directory.get_customer(connection, staff, theirs.customers[0]) is None
    # An app scoped to one customer still sees only that one: the rule for apps holds.
    app = TenantScope(ours.partner_id, ours.client_id)
    async with db.read() as connection:
        seen = await directory.customer_page(connection, app, limit=10)
    assert [row.id for row in seen.rows] == [ours.customers[0]]


async def test_statements_built_once_for_every_app_take_the_partner_staff_too(db):
    ours = await make_tenant(db, customers=2)
    theirs = await make_tenant(db, customers=1)
    staff = TenantScope.partner_staff(ours.partner_id)
    for customer in ours.customers:
        assert await services_revision(db, staff, customer) is not None
    assert await services_revision(db, staff, theirs.customers[0]) is None
    # An empty client id is the staff's only: another partner's staff sees nothing of ours.
    assert (
        await services_revision(db, TenantScope.partner_staff(theirs.partner_id), ours.customers[0])
        is None
    )
