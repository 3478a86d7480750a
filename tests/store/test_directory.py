"""What the operator changes, seen through the APIs on the next request: a disabled service
leaves the job pages and keeps its history, an offboarded customer is gone whole, an app's
customer scope changes at once and its permissions with its next token."""

import uuid

import pytest
from sqlalchemy import func, select

from backupjobs.auth import apps as app_registry
from backupjobs.store import directory
from backupjobs.store.directory import CustomerChanges, Enabling, NotFoundError
from backupjobs.store.schema import app_customers, apps, backup_services, customers, jobs
from tests.world import add_app, enable, get_token, ingest, job, make_tenant, now, v3_jobs_path

MODERN_JOBS = "/partner/customers/{}/jobs"


async def v3_modules(client, tenant, customer, headers=None):
    response = await client.post(
        v3_jobs_path(customer), headers=headers or await tenant.headers(client)
    )
    assert response.status_code == 200, response.text
    return [row["jobModule"] for row in response.json()["data"]]


async def modern_modules(client, tenant, customer):
    response = await client.get(MODERN_JOBS.format(customer), headers=await tenant.headers(client))
    assert response.status_code == 200, response.text
    return [row["jobModule"] for row in response.json()["value"]]


async def count(db, table, **where):
    async with db.read() as connection:
        conditions = [table.c[name] == value for name, value in where.items()]
        found: int = await connection.scalar(select(func.count()).where(*conditions))
        return found


async def services_revision(db, customer):
    async with db.read() as connection:
        return await connection.scalar(
            select(customers.c.services_revision).where(customers.c.id == customer)
        )


async def test_a_disabled_service_leaves_both_job_pages_and_keeps_its_history(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, f"D-{c}-302", jobModule=302), job(c, f"D-{c}-304")])
    assert await v3_modules(client, tenant, c) == [302, 304]  # read, and kept
    assert await modern_modules(client, tenant, c) == ["SharePoint Online", "Microsoft 365 Groups"]

    revision = await services_revision(db, c)
    async with db.write() as connection:
        assert await directory.disable_service(connection, c, 7, 302, now=now())
    # Pages kept by any process are read again (readmodel.changes, ReadModel.job_page).
    assert await services_revision(db, c) != revision
    revision = await services_revision(db, c)
    async with db.write() as connection:
        assert not await directory.disable_service(connection, c, 7, 302, now=now())
    assert await services_revision(db, c) == revision
    assert await v3_modules(client, tenant, c) == [304]
    assert await modern_modules(client, tenant, c) == ["Microsoft 365 Groups"]
    single = await client.get(
        f"/partner/customers/{c}/jobs/jobType/7/jobModule/302",
        headers=await tenant.headers(client),
    )
    assert single.json()["value"][0]["status"] == "Not Finished"  # as for any service not shown
    assert await count(db, jobs, customer_id=c, job_module=302) == 1  # history kept
    async with db.read() as connection:
        listed = await directory.list_services(connection, customer_id=c)
    assert [
        (s.job_module, s.disabled_at is None, s.latest_job_id, s.latest_status) for s in listed
    ] == [
        (302, False, f"D-{c}-302", 2),
        (304, True, f"D-{c}-304", 2),
    ]

    # A job reported meanwhile is recorded; the service stays off the pages.
    later = job(c, f"D-{c}-302b", jobModule=302, startTime="2025-09-12T03:00:00Z",
                endTime="2025-09-12T03:30:00Z", lastModifyTime="2025-09-12T03:30:01Z")  # fmt: skip
    assert (await ingest(client, tenant, [later]))["stored"] == 1
    assert await v3_modules(client, tenant, c) == [304]

    async with db.write() as connection:
        again = await directory.enable_service(connection, c, 7, 302, now=now())
    assert await services_revision(db, c) != revision
    async with db.write() as connection:
        unchanged = await directory.enable_service(connection, c, 7, 302, now=now())
    assert (again, unchanged) == (Enabling.RE_ENABLED, Enabling.UNCHANGED)
    response = await client.post(v3_jobs_path(c), headers=await tenant.headers(client))
    assert [row["jobId"] for row in response.json()["data"]] == [f"D-{c}-302b", f"D-{c}-304"]


async def test_disabling_a_service_of_all_a_customers_services_leaves_an_empty_page(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await enable(db, c, 7, 302)
    async with db.write() as connection:
        await directory.disable_service(connection, c, 7, 302, now=now())
    assert await v3_modules(client, tenant, c) == []  # the customer is there, its page empty


async def test_disabling_names_what_is_not_there(db):
    tenant = await make_tenant(db)
    missing = uuid.uuid4()
    async with db.write() as connection:
        with pytest.raises(NotFoundError, match=f"no customer {missing}"):
            await directory.disable_service(connection, missing, 7, 302, now=now())
        with pytest.raises(
            NotFoundError,
            match=rf"customer {tenant.customers[0]} has no backup service jobType 7 "
            r"\(Microsoft 365\), jobModule 303 \(Exchange Online\)",
        ):
            await directory.disable_service(connection, tenant.customers[0], 7, 303, now=now())


async def test_services_are_listed_enabled_and_disabled(db):
    tenant = await make_tenant(db, names=["Zulu", "Alpha"])
    zulu, alpha = tenant.customers
    for customer, module in ((zulu, 302), (alpha, 303), (alpha, 302)):
        await enable(db, customer, 7, module)
    async with db.write() as connection:
        await directory.disable_service(connection, alpha, 7, 303, now=now())
        found = await directory.list_services(connection, partner_id=tenant.partner_id)
        only_zulu = await directory.list_services(connection, customer_id=zulu)
        listed = await directory.list_customers(connection, partner_id=tenant.partner_id)
    assert [(s.customer_name, s.job_module, s.disabled_at is None) for s in found] == [
        ("Alpha", 302, True),
        ("Alpha", 303, False),
        ("Zulu", 302, True),
    ]
    assert [s.customer_id for s in only_zulu] == [zulu]
    assert [(c.name, c.services, c.disabled_services) for c in listed] == [
        ("Alpha", 1, 1),
        ("Zulu", 1, 0),
    ]


async def test_an_offboarded_customer_is_gone_with_its_services_jobs_and_scope(client, db):
    tenant = await make_tenant(db, customers=3)
    leaving, staying, third = tenant.customers
    await ingest(client, tenant, [job(leaving, f"O-{leaving}-1"), job(staying, f"O-{staying}")])
    await enable(db, leaving, 7, 302)
    alone = await add_app(db, tenant, app_customers=[0])  # this customer only
    both = await add_app(db, tenant, app_customers=[0, 2])
    assert await v3_modules(client, alone, leaving) == [302, 304]

    async with db.write() as connection:
        preview = await directory.customer_removal(connection, leaving)
    async with db.write() as connection:
        removal = await directory.delete_customer(connection, leaving)
    assert (removal.services, removal.jobs, removal.app_scope_entries) == (2, 1, 2)
    assert removal.apps_left_without_customers == (alone.client_id,)
    assert preview == removal
    for table, where in (
        (customers, {"id": leaving}),
        (backup_services, {"customer_id": leaving}),
        (jobs, {"customer_id": leaving}),
        (app_customers, {"customer_id": leaving}),
    ):
        assert await count(db, table, **where) == 0, table.name
    assert await count(db, app_customers, client_id=both.client_id) == 1  # the third stays
    assert await count(db, jobs, customer_id=staying) == 1
    response = await client.post(v3_jobs_path(leaving), headers=await tenant.headers(client))
    assert response.status_code == 404
    assert (await client.post(v3_jobs_path(third), headers=await both.headers(client))).is_success
    async with db.write() as connection:
        with pytest.raises(NotFoundError, match=f"no customer {leaving}"):
            await directory.delete_customer(connection, leaving)


async def test_a_failed_offboarding_removes_nothing(db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await enable(db, c, 7, 302)

    async def fails_after_the_delete():
        async with db.write() as connection:
            await directory.delete_customer(connection, c)
            raise RuntimeError("the operator's transaction fails after the delete")

    with pytest.raises(RuntimeError):
        await fails_after_the_delete()
    assert await count(db, customers, id=c) == 1
    assert await count(db, backup_services, customer_id=c) == 1


async def test_customers_and_partners_are_renamed(db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    async with db.write() as connection:
        before, after = await directory.update_customer(
            connection, c, CustomerChanges(name="  Renamed Ltd ")
        )
        previous = await directory.rename_partner(connection, tenant.partner_id, "New MSP")
        with pytest.raises(ValueError, match="nothing to change"):
            await directory.update_customer(connection, c, CustomerChanges())
        with pytest.raises(ValueError, match="blank"):
            await directory.update_customer(connection, c, CustomerChanges(name=" "))
        with pytest.raises(NotFoundError, match="no partner"):
            await directory.rename_partner(connection, uuid.uuid4(), "X")
        partners = await directory.list_partners(connection)
    assert CustomerChanges.differences(before, after) == {"name": (before.name, "Renamed Ltd")}
    assert previous.startswith("Partner ")
    mine = next(p for p in partners if p.id == tenant.partner_id)
    assert (mine.name, mine.customers, mine.apps) == ("New MSP", 2, 1)


async def test_an_apps_customer_scope_changes_on_its_next_request(client, db):
    tenant = await make_tenant(db)
    first, second = tenant.customers
    headers = await tenant.headers(client)
    assert (await client.post(v3_jobs_path(second), headers=headers)).status_code == 200
    async with db.write() as connection:
        before, after = await app_registry.update_app(
            connection, tenant.client_id, customer_ids=[first]
        )
    assert (before.customer_ids, after.customer_ids) == (None, (first,))
    # The same token: the scope is the app's, read on every request.
    assert (await client.post(v3_jobs_path(second), headers=headers)).status_code == 404
    assert (await client.post(v3_jobs_path(first), headers=headers)).status_code == 200
    async with db.write() as connection:
        await app_registry.update_app(connection, tenant.client_id, all_customers=True)
    assert (await client.post(v3_jobs_path(second), headers=headers)).status_code == 200


async def test_an_apps_permissions_change_with_its_next_token(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    held = await tenant.headers(client)
    async with db.write() as connection:
        _, after = await app_registry.update_app(
            connection,
            tenant.client_id,
            name="Renamed",
            permissions=frozenset({"partner.jobs.read.all"}),
        )
    assert (after.name, after.permissions) == ("Renamed", ("partner.jobs.read.all",))
    # A token already issued keeps its permissions until it expires.
    assert (await client.post(v3_jobs_path(c), headers=held)).status_code == 200
    fresh = await get_token(client, tenant.client_id, tenant.secret)
    response = await client.post(v3_jobs_path(c), headers={"Authorization": f"Bearer {fresh}"})
    assert response.status_code == 403


async def test_app_updates_are_checked(db):
    tenant = await make_tenant(db)
    other = await make_tenant(db)
    async with db.write() as connection:
        with pytest.raises(NotFoundError, match="partner has no customer"):
            await app_registry.update_app(
                connection, tenant.client_id, customer_ids=[other.customers[0]]
            )
        with pytest.raises(ValueError, match="not both"):
            await app_registry.update_app(
                connection, tenant.client_id, customer_ids=[tenant.customers[0]], all_customers=True
            )
        with pytest.raises(ValueError, match="at least one permission"):
            await app_registry.update_app(connection, tenant.client_id, permissions=frozenset())
        with pytest.raises(NotFoundError, match="no app with client id nope"):
            await app_registry.update_app(connection, "nope", name="X")


async def test_a_deleted_app_cannot_sign_in_and_its_tokens_see_nothing(client, db):
    tenant = await make_tenant(db)
    scoped = await add_app(db, tenant, app_customers=[0])
    held = await scoped.headers(client)
    async with db.write() as connection:
        removal = await app_registry.delete_app(connection, scoped.client_id)
    assert (removal.secrets, removal.certificates, removal.customer_scope_entries) == (1, 0, 1)
    assert await count(db, apps, client_id=scoped.client_id) == 0
    response = await client.post(v3_jobs_path(tenant.customers[0]), headers=held)
    assert response.status_code == 404
    refused = await client.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": scoped.client_id,
            "client_secret": scoped.secret,
        },
    )
    assert refused.status_code == 401
    # The partner's other app is untouched.
    assert (
        await client.post(v3_jobs_path(tenant.customers[0]), headers=await tenant.headers(client))
    ).is_success


async def test_a_customer_made_again_with_its_id_gets_its_jobs_again(client, db):
    """Ingestion remembers the services it has seen; not those of a customer since gone."""
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    for n in (1, 2):  # the second finds the service the first made, and remembers it
        await ingest(client, tenant, [job(c, f"A-{c}-{n}")])
    async with db.write() as connection:
        await directory.delete_customer(connection, c)
        await directory.create_customer(
            connection, tenant.partner_id, "Back", customer_id=c, now=now()
        )
    answer = await ingest(client, tenant, [job(c, f"A-{c}-3")])
    assert (answer["stored"], answer["rejected"]) == (1, [])
    response = await client.post(v3_jobs_path(c), headers=await tenant.headers(client))
    assert [row["jobId"] for row in response.json()["data"]] == [f"A-{c}-3"]
