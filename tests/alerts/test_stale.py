"""Stale detection: one incident and one event per threshold for a service that stays
stale, closed by its next successful job; one round at a time."""

import asyncio
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
