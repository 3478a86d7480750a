"""Stale detection: one incident and one event per threshold for a service that stays
stale, closed by its next successful job; one round at a time."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

from backupjobs.sdk.webhooks import WebhookVerifier
from backupjobs.store.incidents import detect_stale
from tests.alerts.hooks import received, subscribe
from tests.receiver import receiving
from tests.world import ingest, job, make_tenant


async def test_a_service_that_stays_stale_makes_one_incident_and_event(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db, customers=1, names=["Litware"])
    c = tenant.customers[0]
    now = datetime.now(UTC)
    two_days_ago = (now - timedelta(days=2)).isoformat()
    with receiving() as hourly, receiving() as daily:
        short = await subscribe(
            alerts_client,
            tenant,
            hourly.url,
            ["service.stale", "service.recovered"],
            staleAfter="PT1H",
        )
        await ingest(
            alerts_client,
            tenant,
            [job(c, "OK1", startTime=two_days_ago, endTime=two_days_ago)],
        )
        # Detection runs every minute: a service that stays stale is told of once.
        for _ in range(3):
            await detect_stale(alerts_db, now=datetime.now(UTC))
        (stale,) = await received(hourly, 1)
        event = WebhookVerifier(short["secret"]).verify(stale.body, stale.headers)
        assert event["type"] == "service.stale" and event["data"]["staleAfter"] == "PT1H"
        assert event["data"]["customer"]["name"] == "Litware"
        assert event["data"]["job"]["jobId"] == "OK1"
        incident = event["data"]["incidentId"]

        # A subscription with a longer threshold hears of the same incident.
        long = await subscribe(
            alerts_client, tenant, daily.url, ["service.stale"], staleAfter="P1D"
        )
        await detect_stale(alerts_db, now=datetime.now(UTC))
        (late,) = await received(daily, 1)
        told = WebhookVerifier(long["secret"]).verify(late.body, late.headers)
        assert told["data"]["incidentId"] == incident and told["data"]["staleAfter"] == "PT24H"

        # A successful job closes the incident with service.recovered.
        ninety_minutes_ago = (datetime.now(UTC) - timedelta(minutes=90)).isoformat()
        await ingest(
            alerts_client,
            tenant,
            [job(c, "OK2", startTime=ninety_minutes_ago, endTime=ninety_minutes_ago)],
        )
        recovered = (await received(hourly, 2))[1]
        body = WebhookVerifier(short["secret"]).verify(recovered.body, recovered.headers)
        assert body["type"] == "service.recovered" and body["data"]["incidentId"] == incident
        assert body["data"]["job"]["jobId"] == "OK2"
        # Stale again at an hour (not at a day): a new incident.
        await detect_stale(alerts_db, now=datetime.now(UTC))
        again = (await received(hourly, 3))[2]
        next_incident = WebhookVerifier(short["secret"]).verify(again.body, again.headers)
        assert next_incident["type"] == "service.stale"
        assert next_incident["data"]["incidentId"] not in (None, incident)
        await asyncio.sleep(0.5)
    assert len(hourly.received) == 3 and len(daily.received) == 1


async def test_a_service_that_never_ran_is_never_stale(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db, customers=1)
    with receiving() as receiver:
        await subscribe(alerts_client, tenant, receiver.url, ["service.stale"], staleAfter="PT1M")
        from tests.world import enable  # noqa: PLC0415

        await enable(alerts_db, tenant.customers[0], 7, 304)
        await detect_stale(alerts_db, now=datetime.now(UTC) + timedelta(days=30))
        await asyncio.sleep(0.5)
    assert receiver.received == []


async def test_stale_is_judged_by_the_services_last_success_as_its_health_is(
    alerts_client, alerts_db
):
    """A success that ended within the threshold keeps a service fresh however long it ran
    (``backup_services.last_success_time``, what /api/v1/services reports), and a service
    whose last success is older is stale for alerts exactly when it is for the report."""
    tenant = await make_tenant(alerts_db, customers=2, names=["Long runner", "Quiet"])
    long_runner, quiet = tenant.customers
    now = datetime.now(UTC)
    ten_days_ago = (now - timedelta(days=10)).isoformat()
    half_an_hour_ago = (now - timedelta(minutes=30)).isoformat()
    three_hours_ago = (now - timedelta(hours=3)).isoformat()
    with receiving() as receiver:
        await subscribe(alerts_client, tenant, receiver.url, ["service.stale"], staleAfter="PT1H")
        await ingest(
            alerts_client,
            tenant,
            [
                # A ten-day seeding that finished half an hour ago.
                job(long_runner, "SEED", startTime=ten_days_ago, endTime=half_an_hour_ago),
                job(quiet, "OLD", startTime=three_hours_ago, endTime=three_hours_ago),
            ],
        )
        services = await alerts_client.get(
            "/api/v1/services",
            params={"staleAfter": "PT1H"},
            headers=await tenant.headers(alerts_client),
        )
        assert services.status_code == 200, services.text
        reported = {s["customerName"]: s["stale"] for s in services.json()["items"]}
        assert reported == {"Long runner": False, "Quiet": True}

        await detect_stale(alerts_db, now=datetime.now(UTC))
        (stale,) = await received(receiver, 1)
        told = json.loads(stale.body)
        assert told["type"] == "service.stale"
        assert told["data"]["customer"]["name"] == "Quiet"
        await asyncio.sleep(0.5)
    assert len(receiver.received) == 1
