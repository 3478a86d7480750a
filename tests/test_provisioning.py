"""Provisioning: a partner, its customers, services and apps made from one plan, at once."""

import uuid

import pytest
from sqlalchemy import func, select

from backupjobs.auth.apps import authenticate_with_secret, describe_apps
from backupjobs.provisioning import AppPlan, CustomerPlan, PartnerPlan, add_apps, provision
from backupjobs.store.directory import ConflictError
from backupjobs.store.schema import backup_services, partners
from tests.world import now


async def test_a_plan_is_made_in_its_order_with_its_services_and_app_scopes(db):
    chosen = uuid.uuid4()
    plan = PartnerPlan(
        "Planned MSP",
        customers=(CustomerPlan("First", services=((7, 302), (7, 303))), CustomerPlan("Second", chosen)),
        apps=(AppPlan("Everything"), AppPlan("Reader", frozenset({"elements.jobs.read.all"}), (1,))),
    )  # fmt: skip
    made = await provision(db, plan, now=now())
    assert made.customer_ids[1] == chosen
    assert made.app == made.apps[0]
    async with db.write() as connection:
        services = await connection.execute(
            select(backup_services.c.customer_id, backup_services.c.job_module)
            .where(backup_services.c.partner_id == made.partner_id)
            .order_by(backup_services.c.job_module)
        )
        assert services.all() == [(made.customer_ids[0], 302), (made.customer_ids[0], 303)]
        described = {
            app.client_id: app
            for app in await describe_apps(connection, partner_id=made.partner_id)
        }
        everything, reader = (described[app.client_id] for app in made.apps)
        assert everything.customer_ids is None
        assert reader.customer_ids == (chosen,)
        assert reader.permissions == ("elements.jobs.read.all",)
        signed_in = await authenticate_with_secret(
            connection, reader.client_id, made.apps[1].secret.value, now=now()
        )
        assert signed_in.partner_id == made.partner_id


async def test_apps_added_later_are_scoped_by_position(db):
    made = await provision(
        db, PartnerPlan("Later MSP", (CustomerPlan("A"), CustomerPlan("B"))), now=now()
    )
    assert made.apps == ()
    (app,) = await add_apps(
        db, made.partner_id, made.customer_ids, [AppPlan("Late", customers=(1,))], now=now()
    )
    async with db.read() as connection:
        (described,) = await describe_apps(connection, partner_id=made.partner_id)
    assert (described.client_id, described.customer_ids) == (app.client_id, made.customer_ids[1:])


async def test_nothing_is_made_when_a_part_of_the_plan_fails(db):
    taken = await provision(db, PartnerPlan("First MSP", (CustomerPlan("A"),)), now=now())
    plan = PartnerPlan(
        "Doomed MSP",
        customers=(CustomerPlan("New"), CustomerPlan("Again", taken.customer_ids[0])),
        apps=(AppPlan("Never"),),
    )
    with pytest.raises(ConflictError, match="already exists"):
        await provision(db, plan, now=now())
    async with db.read() as connection:
        doomed = select(func.count()).where(partners.c.name == "Doomed MSP")
        assert await connection.scalar(doomed) == 0
