"""GET /api/v1/services: ``openIncidentId`` is the service's open alert incident (SPEC
§10.5), read with the service; closed incidents and another partner's never show."""

import uuid
from datetime import UTC, datetime

from backupjobs.store.incidents import open_incidents
from backupjobs.store.schema import alert_incidents
from tests.alerts.hooks import subscribe
from tests.api.reports import run
from tests.world import ingest, make_tenant

SERVICES = "/api/v1/services"
RECEIVER = "http://127.0.0.1:9/hook"  # allowed by alerts_app; its deliveries only fail
GROUPS, SHAREPOINT, ONEDRIVE = 304, 302, 305


async def _incidents(client, tenant) -> dict[int, str | None]:
    answer = await client.get(SERVICES, headers=await tenant.headers(client))
    assert answer.status_code == 200, answer.text
    return {item["jobModule"]: item["openIncidentId"] for item in answer.json()["items"]}


async def test_the_open_incident_of_each_service_and_no_other(alerts_client, alerts_db):
    a = await make_tenant(alerts_db, customers=1)
    b = await make_tenant(alerts_db, customers=1)
    for tenant in (a, b):
        await subscribe(alerts_client, tenant, RECEIVER, ["job.failed", "service.recovered"])
    customer = a.customers[0]
    await ingest(
        alerts_client,
        a,
        [
            run(customer, "gr-1", 3, status=3, module=GROUPS),
            run(customer, "sp-1", 3, status=2, module=SHAREPOINT),
            run(customer, "od-1", 30, status=3, module=ONEDRIVE),
            run(customer, "od-2", 2, status=2, module=ONEDRIVE),  # failed, then recovered
        ],
    )
    await ingest(alerts_client, b, [run(b.customers[0], "x-1", 1, status=3, module=GROUPS)])
    now = datetime.now(UTC)
    async with alerts_db.write() as connection:
        # Another partner's open incident under this service's very key, and a closed one
        # of its own: neither is this service's open incident.
        await connection.execute(
            alert_incidents.insert(),
            [
                {"partner_id": b.partner_id, "customer_id": customer, "id": uuid.uuid4(),
                 "job_type": 7, "job_module": SHAREPOINT, "cause": "failed",
                 "opened_at": now, "closed_at": None},
                {"partner_id": a.partner_id, "customer_id": customer, "id": uuid.uuid4(),
                 "job_type": 7, "job_module": SHAREPOINT, "cause": "failed",
                 "opened_at": now, "closed_at": now},
            ],
        )  # fmt: skip
    async with alerts_db.read() as connection:
        opened = await open_incidents(
            connection, a.partner_id, [(customer, 7, m) for m in (GROUPS, SHAREPOINT, ONEDRIVE)]
        )
    assert set(opened) == {(customer, 7, GROUPS)}

    shown = await _incidents(alerts_client, a)
    assert shown == {GROUPS: str(opened[(customer, 7, GROUPS)]), SHAREPOINT: None, ONEDRIVE: None}
    theirs = await _incidents(alerts_client, b)
    assert theirs[GROUPS] is not None and theirs[GROUPS] != shown[GROUPS]

    # Its recovery closes the incident: the list says so at once.
    await ingest(alerts_client, a, [run(customer, "gr-2", 1, status=2, module=GROUPS)])
    assert (await _incidents(alerts_client, a))[GROUPS] is None


async def test_a_partner_without_webhooks_has_no_open_incident(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db, customers=1)
    await ingest(alerts_client, tenant, [run(tenant.customers[0], "f-1", 1, status=3)])
    assert await _incidents(alerts_client, tenant) == {GROUPS: None}
