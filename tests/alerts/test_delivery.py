"""Webhook deliveries to a real HTTP receiver: signatures, incidents, retries, 410,
redirects, tenant scope, chat formats (in-process server, both databases)."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import Webhook as ReferenceWebhook

from backupjobs.alerts import deliverer, service
from backupjobs.auth.apps import update_app
from backupjobs.model import parse_record
from backupjobs.sdk.webhooks import WebhookVerifier
from backupjobs.store import webhooks
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import webhook_attempts, webhook_deliveries
from backupjobs.store.scope import TenantScope
from backupjobs.store.webhooks import ClaimedHere
from tests.alerts.hooks import WEBHOOKS, deliveries, received, settled, subscribe
from tests.receiver import receiving
from tests.world import add_app, ingest, job, make_tenant

JOB_EVENTS = ["job.failed", "job.warning", "service.recovered"]


def failed(customer, job_id, **fields):
    return job(customer, job_id, status=3, failedCount=5, **fields)


async def ingest_failed(db, tenant, job_ids, claimed_here=None) -> int:
    """Failed jobs of the tenant's first customer, one batch straight through the
    Ingestor (``claimed_here``: their deliveries written claimed for this process); the
    deliveries made."""
    records = [
        (n, parse_record(msgspec.json.encode(failed(tenant.customers[0], job_id))))
        for n, job_id in enumerate(job_ids)
    ]
    result = await Ingestor(db).ingest_batch(
        TenantScope(tenant.partner_id, tenant.client_id), records, claimed_here=claimed_here
    )
    return result.deliveries


async def attempts_kept(db, partner_id):
    """The partner's attempt rows, whatever their delivery (they have no foreign key)."""
    async with db.read() as connection:
        return await connection.scalar(
            select(func.count())
            .select_from(webhook_attempts)
            .where(webhook_attempts.c.partner_id == partner_id)
        )


async def test_a_failed_job_is_delivered_signed(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db, names=["Contoso", "Fabrikam"])
    with receiving() as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        assert hook["secret"].startswith("whsec_")
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "F1")])
        (delivery,) = await received(receiver, 1)
    headers = delivery.headers
    # The reference implementation of Standard Webhooks (PyPI) and the SDK's agree.
    reference = ReferenceWebhook(hook["secret"]).verify(delivery.body, headers)
    event = WebhookVerifier(hook["secret"]).verify(delivery.body, headers)
    assert reference == event
    assert event["type"] == "job.failed"
    data = event["data"]
    assert data["customer"] == {"id": str(tenant.customers[0]), "name": "Contoso"}
    assert data["service"]["jobTypeName"] and data["service"]["jobModule"] == 304
    assert data["job"]["jobId"] == "F1" and data["job"]["statusName"] == "Failed"
    assert data["incidentId"]
    assert headers["webhook-id"] and headers["Content-Type"] == "application/json"
    # Another secret does not verify it.
    other = (await subscribe(alerts_client, tenant, receiver.url, ["job.failed"]))["secret"]
    try:
        WebhookVerifier(other).verify(delivery.body, headers)
    except ValueError:
        pass
    else:
        raise AssertionError("verified with the wrong secret")


async def test_re_reported_and_late_records_make_no_extra_events(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db)
    c = tenant.customers[0]
    with receiving() as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, JOB_EVENTS)
        await ingest(
            alerts_client, tenant, [failed(c, "R1", lastModifyTime="2025-09-11T04:00:00Z")]
        )
        await ingest(
            alerts_client, tenant, [failed(c, "R1", lastModifyTime="2025-09-11T05:00:00Z")]
        )
        # Out of order: an older record of the same job, and the same batch twice.
        await ingest(
            alerts_client, tenant, [failed(c, "R1", lastModifyTime="2025-09-11T03:00:00Z")]
        )
        await ingest(
            alerts_client,
            tenant,
            [failed(c, "R1", lastModifyTime="2025-09-11T06:00:00Z")] * 2,
        )
        await received(receiver, 1)
        await asyncio.sleep(0.8)
    assert len(receiver.received) == 1
    assert len(await deliveries(alerts_client, tenant, hook["id"])) == 1


async def test_an_incident_opens_at_the_first_failure_and_closes_at_recovery(
    alerts_client, alerts_db
):
    tenant = await make_tenant(alerts_db)
    c = tenant.customers[0]
    verifier = None
    with receiving() as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, JOB_EVENTS)
        verifier = WebhookVerifier(hook["secret"])
        steps = [
            failed(c, "I1", startTime="2025-09-11T01:00:00Z", endTime="2025-09-11T01:10:00Z"),
            failed(c, "I2", startTime="2025-09-12T01:00:00Z", endTime="2025-09-12T01:10:00Z"),
            job(
                c, "I3", status=2, startTime="2025-09-13T01:00:00Z", endTime="2025-09-13T01:10:00Z"
            ),
            failed(c, "I4", startTime="2025-09-14T01:00:00Z", endTime="2025-09-14T01:10:00Z"),
            job(
                c, "I5", status=4, startTime="2025-09-15T01:00:00Z", endTime="2025-09-15T01:10:00Z"
            ),
        ]
        for record, total in zip(steps, [1, 2, 3, 4, 6], strict=True):
            await ingest(alerts_client, tenant, [record])
            await received(receiver, total)
        events = [verifier.verify(r.body, r.headers) for r in receiver.wait_for(6)]
    seen = [(e["type"], e["data"]["job"]["jobId"], e["data"]["incidentId"]) for e in events]
    first, second = seen[0][2], seen[3][2]
    assert first and second and first != second
    assert seen[:4] == [
        ("job.failed", "I1", first),
        ("job.failed", "I2", first),
        ("service.recovered", "I3", first),
        ("job.failed", "I4", second),
    ]
    # The warning is successful: it closes the incident it belongs to.
    assert sorted(seen[4:]) == [("job.warning", "I5", second), ("service.recovered", "I5", second)]


async def test_a_failure_reported_after_a_later_success_opens_no_lasting_incident(
    alerts_client, alerts_db
):
    tenant = await make_tenant(alerts_db)
    c = tenant.customers[0]
    with receiving() as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, JOB_EVENTS)
        await ingest(alerts_client, tenant, [job(c, "L2", startTime="2025-09-12T01:00:00Z")])
        await ingest(alerts_client, tenant, [failed(c, "L1", startTime="2025-09-11T01:00:00Z")])
        (late,) = await received(receiver, 1)
        await ingest(alerts_client, tenant, [job(c, "L3", startTime="2025-09-13T01:00:00Z")])
        await asyncio.sleep(0.8)
    event = WebhookVerifier(hook["secret"]).verify(late.body, late.headers)
    assert event["type"] == "job.failed" and event["data"]["incidentId"]
    # The service had recovered already: no service.recovered follows.
    assert len(receiver.received) == 1


async def test_retries_carry_the_same_id_until_a_2xx(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db)
    with receiving(answers=[500, 503]) as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "T1")])
        attempts = await received(receiver, 3)
        (delivery,) = await settled(alerts_client, tenant, hook["id"], 1)
    assert len({a.headers["webhook-id"] for a in attempts}) == 1
    verifier = WebhookVerifier(hook["secret"])
    assert all(verifier.verify(a.body, a.headers) for a in attempts)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert delivery["lastResponseStatus"] == 200 and delivery["deliveredTime"]
    assert delivery["eventId"] == attempts[0].headers["webhook-id"]
    detail = await alerts_client.get(
        f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery['id']}",
        headers=await tenant.headers(alerts_client),
    )
    log = detail.json()["attemptLog"]
    assert [a["responseStatus"] for a in log] == [500, 503, 200]
    assert log[0]["responseExcerpt"] == "answer 500" and log[0]["durationMs"] >= 0


async def test_a_spent_schedule_fails_the_delivery_and_redeliver_starts_it_again(
    alerts_client, alerts_db
):
    tenant = await make_tenant(alerts_db)
    headers = await tenant.headers(alerts_client)
    with receiving(default=500) as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "S1")])
        (delivery,) = await settled(alerts_client, tenant, hook["id"], 1)
        assert delivery["status"] == "failed" and delivery["attempts"] == 3
        assert delivery["nextAttemptTime"] is None
        receiver.default = 200
        again = await alerts_client.post(
            f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery['id']}/redeliver", headers=headers
        )
        assert again.status_code == 202 and again.json()["status"] == "pending"
        attempts = await received(receiver, 4)
        (delivery,) = await settled(alerts_client, tenant, hook["id"], 1)
    assert delivery["status"] == "delivered"
    assert len({a.headers["webhook-id"] for a in attempts}) == 1
    detail = await alerts_client.get(
        f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery['id']}", headers=headers
    )
    # A schedule of its own: the old attempts are gone from the log.
    assert [a["responseStatus"] for a in detail.json()["attemptLog"]] == [200]

    assert (
        await alerts_client.delete(f"{WEBHOOKS}/{hook['id']}", headers=headers)
    ).status_code == 204
    # Its deliveries' attempts went with them (no foreign key removes them).
    assert await attempts_kept(alerts_db, tenant.partner_id) == 0


async def test_a_deletion_waits_for_an_attempt_being_recorded_and_removes_it(
    alerts_client, alerts_db
):
    """A process recording an attempt holds its delivery's row until it commits: the
    deletion of the subscription waits for it and removes that attempt too (attempts
    have no foreign key to their delivery that would)."""
    tenant = await make_tenant(alerts_db)
    headers = await tenant.headers(alerts_client)
    with receiving() as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "D1")])
        (delivery,) = await settled(alerts_client, tenant, hook["id"], 1)
    delivery_id = uuid.UUID(delivery["id"])
    async with alerts_db.write() as recording:
        await recording.execute(
            select(webhook_deliveries.c.id)
            .where(webhook_deliveries.c.id == delivery_id)
            .with_for_update()
        )
        await recording.execute(
            webhook_attempts.insert().values(
                partner_id=tenant.partner_id,
                delivery_id=delivery_id,
                number=2,
                started_at=datetime.now(UTC),
                duration_ms=1,
                response_status=200,
            )
        )
        deletion = asyncio.create_task(
            alerts_client.delete(f"{WEBHOOKS}/{hook['id']}", headers=headers)
        )
        await asyncio.sleep(0.3)
        assert not deletion.done()
    assert (await deletion).status_code == 204
    assert await attempts_kept(alerts_db, tenant.partner_id) == 0


async def test_a_410_disables_the_subscription(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db)
    headers = await tenant.headers(alerts_client)
    with receiving(answers=[410]) as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "G1")])
        (delivery,) = await settled(alerts_client, tenant, hook["id"], 1)
        assert delivery["status"] == "failed" and delivery["attempts"] == 1
        shown = (await alerts_client.get(f"{WEBHOOKS}/{hook['id']}", headers=headers)).json()
        assert shown["enabled"] is False and "410" in shown["disabledReason"]
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "G2")])
        await asyncio.sleep(0.8)
        assert len(receiver.received) == 1
        # Enabled again, it hears of what comes next.
        enabled = await alerts_client.patch(
            f"{WEBHOOKS}/{hook['id']}", json={"enabled": True}, headers=headers
        )
        assert enabled.json()["enabled"] is True and enabled.json()["disabledReason"] is None
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "G3")])
        await received(receiver, 2)


async def test_redirects_are_not_followed(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db)
    with receiving() as target, receiving(redirect_to=None) as receiver:
        receiver.redirect_to = target.url
        hook = await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "D1")])
        await received(receiver, 1)
        await asyncio.sleep(0.3)
        (delivery,) = await deliveries(alerts_client, tenant, hook["id"])
    assert target.received == []
    assert delivery["lastResponseStatus"] == 302


async def test_events_stop_when_the_apps_tenant_scope_or_the_customers_narrow(
    alerts_client, alerts_db
):
    tenant = await make_tenant(alerts_db, customers=3)
    first, second, third = tenant.customers
    with receiving() as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        await ingest(alerts_client, tenant, [failed(first, "N1")])
        await received(receiver, 1)
        # The subscribing app is narrowed to the first customer: the second goes silent.
        async with alerts_db.write() as connection:
            await update_app(connection, tenant.client_id, customer_ids=[first])
        engine = await add_app(alerts_db, tenant)
        await ingest(alerts_client, engine, [failed(second, "N2")])
        # Its customer list narrowed to the third (outside the app's scope now): silent.
        await alerts_client.patch(
            f"{WEBHOOKS}/{hook['id']}",
            json={"customerIds": [str(first)]},
            headers=await tenant.headers(alerts_client),
        )
        await ingest(alerts_client, engine, [failed(third, "N3"), failed(first, "N4")])
        events = await received(receiver, 2)
        await asyncio.sleep(0.8)
    verifier = WebhookVerifier(hook["secret"])
    jobs = [verifier.verify(e.body, e.headers)["data"]["job"]["jobId"] for e in receiver.received]
    assert jobs == ["N1", "N4"], jobs
    assert len(events) == 2
    states = {d["status"] for d in await deliveries(alerts_client, tenant, hook["id"])}
    assert "skipped" in states


async def test_a_ping_and_the_chat_formats(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db, customers=1, names=["Northwind"])
    headers = await tenant.headers(alerts_client)
    with receiving() as receiver:
        slack = await subscribe(
            alerts_client, tenant, receiver.url + "/slack", ["job.failed"], format="slack"
        )
        teams = await subscribe(
            alerts_client, tenant, receiver.url + "/teams", ["job.failed"], format="teams"
        )
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "C1", name="Mailboxes")])
        got = {r.path: json.loads(r.body) for r in await received(receiver, 2)}
        ping = await alerts_client.post(f"{WEBHOOKS}/{slack['id']}/test", headers=headers)
        assert ping.status_code == 202 and ping.json()["eventType"] == "ping"
        pinged = (await received(receiver, 3))[-1]
    slack_message = got["/hook/slack"]
    assert "Backup failed" in slack_message["text"] and "Northwind" in slack_message["text"]
    assert slack_message["blocks"][0]["type"] == "section"
    card = got["/hook/teams"]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [block["text"] for block in card["content"]["body"]]
    assert texts[0] == "Backup failed" and any("Northwind" in t for t in texts)
    assert "Test event" in json.loads(pinged.body)["text"]
    assert teams["format"] == "teams"


async def test_a_rotated_secret_signs_beside_the_new_one(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db)
    headers = await tenant.headers(alerts_client)
    with receiving() as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        rotated = await alerts_client.post(
            f"{WEBHOOKS}/{hook['id']}/rotate-secret", headers=headers
        )
        assert rotated.status_code == 200
        new = rotated.json()["secret"]
        assert new != hook["secret"] and rotated.json()["previousSecretExpiresAt"]
        await alerts_client.post(f"{WEBHOOKS}/{hook['id']}/test", headers=headers)
        (delivery,) = await received(receiver, 1)
    assert len(delivery.headers["webhook-signature"].split()) == 2
    for secret in (hook["secret"], new):
        assert WebhookVerifier(secret).verify(delivery.body, delivery.headers)["type"] == "ping"
        ReferenceWebhook(secret).verify(delivery.body, delivery.headers)


async def test_a_2xx_brings_the_endpoints_backlog_forward(alerts_client, alerts_db):
    """A delivery waiting hours for its retry goes out as soon as the endpoint answers a
    later event."""
    tenant = await make_tenant(alerts_db)
    with receiving(answers=[503]) as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "B1")])
        await received(receiver, 1)
        waiting = None
        while waiting is None or waiting["attempts"] == 0:  # its failure recorded
            (waiting,) = await deliveries(alerts_client, tenant, hook["id"])
        # As if the next retry were hours away (this module's schedule is 0.5 s).
        async with alerts_db.write() as connection:
            await connection.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == uuid.UUID(waiting["id"]))
                .values(next_attempt_at=datetime.now(UTC) + timedelta(hours=5))
            )
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "B2")])
        found = await received(receiver, 3)
    verifier = WebhookVerifier(hook["secret"])
    jobs = [verifier.verify(r.body, r.headers)["data"]["job"]["jobId"] for r in found]
    assert jobs == ["B1", "B2", "B1"]


async def test_a_slow_endpoint_holds_up_no_later_delivery(alerts_client, alerts_db):
    """A delivery made while another waits for a slow endpoint's answer goes out at once:
    a round does not wait for the attempts it started."""
    tenant = await make_tenant(alerts_db, names=["Slow", "Fast"])
    slow_customer, fast_customer = tenant.customers[:2]
    with receiving(hold_first=6.0) as slow, receiving() as fast:
        for receiver, customer in ((slow, slow_customer), (fast, fast_customer)):
            await subscribe(
                alerts_client, tenant, receiver.url, ["job.failed"], customerIds=[str(customer)]
            )
        await ingest(alerts_client, tenant, [failed(slow_customer, "S1")])
        await received(slow, 1)  # and its answer is held for 6 s
        made = time.monotonic()
        await ingest(alerts_client, tenant, [failed(fast_customer, "S2")])
        (delivery,) = await received(fast, 1)
    assert delivery.at - made < 3.0


async def test_the_metrics_count_deliveries(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db)
    with receiving() as receiver:
        await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        await ingest(alerts_client, tenant, [failed(tenant.customers[0], "M1")])
        await received(receiver, 1)
        await asyncio.sleep(0.3)
    text = (await alerts_client.get("/metrics")).text
    for series in (
        "backupjobs_webhook_deliveries_created_total",
        'backupjobs_webhook_attempts_total{outcome="delivered"}',
        "backupjobs_webhook_delivery_latency_seconds_count",
        "backupjobs_webhook_queue_depth",
    ):
        assert series in text, series


async def test_deliveries_go_out_while_every_pooled_connection_is_held(
    alerts_app, alerts_client, alerts_db
):
    """On PostgreSQL the deliverer has connections of its own: ingestion requests
    waiting on row locks, holding the whole pool, do not hold up committed events (on
    SQLite, which has one writer at a time, it shares the pool and passes as well)."""
    tenant = await make_tenant(alerts_db)
    with receiving() as receiver:
        hook = await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        elsewhere = Database(alerts_db.url.render_as_string(hide_password=False), pool_size=1)
        # The pool's size and as many more (Database's max_overflow).
        held = [await alerts_db.engine.connect() for _ in range(2 * alerts_db.engine.pool.size())]
        try:
            scope = TenantScope(tenant.partner_id, tenant.client_id)
            await service.send_ping(elsewhere, scope, uuid.UUID(hook["id"]))
            alerts_app.state.context.alerts.wake()
            (ping,) = await received(receiver, 1)
        finally:
            for connection in held:
                await connection.close()
            await elsewhere.dispose()
    assert json.loads(ping.body)["type"] == "ping"


async def test_an_ingestions_deliveries_are_claimed_for_the_process_that_sends_them(
    alerts_app, alerts_client, alerts_db
):
    """Written claimed with the ingestion (no deliverer round claims them), sent once
    handed over; a hand-over too late to start within the lease is let go, the delivery
    left claimed until its lease ends."""
    tenant = await make_tenant(alerts_db)
    alerts = alerts_app.state.context.alerts

    async def ingest_claimed(job_id: str, made_at: float) -> ClaimedHere:
        claimed_here = ClaimedHere(
            uuid.uuid4(), datetime.now(UTC) + timedelta(minutes=5), made_at=made_at
        )
        assert await ingest_failed(alerts_db, tenant, [job_id], claimed_here) == 1
        return claimed_here

    async def kept(delivery_id: uuid.UUID) -> Any:
        async with alerts_db.read() as connection:
            return (
                await connection.execute(
                    select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
                )
            ).one()

    with receiving() as receiver:
        await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        on_time = await ingest_claimed("CL1", time.monotonic())
        (claimed,) = on_time.deliveries
        row = await kept(claimed.id)
        assert (row.claim, row.next_attempt_at, row.status) == (
            on_time.claim,
            on_time.until,
            "pending",
        )
        assert json.loads(claimed.event.job)["jobId"] == "CL1"
        await asyncio.sleep(0.6)  # three of the deliverer's rounds: none takes it
        assert receiver.received == []
        alerts.take(on_time)
        (delivery,) = await received(receiver, 1)
        assert delivery.headers["webhook-id"] == str(claimed.event.id)
        assert json.loads(delivery.body)["data"]["job"]["jobId"] == "CL1"

        too_late = await ingest_claimed("CL2", time.monotonic() - 60)
        (late,) = too_late.deliveries
        alerts.take(too_late)
        await asyncio.sleep(0.6)
        assert len(receiver.received) == 1
        assert (await kept(late.id)).claim == too_late.claim


async def test_hand_overs_claim_nothing_yet_others_deliveries_go_out_within_the_poll(
    alerts_app, alerts_client, alerts_db, monkeypatch
):
    """A round woken by a hand-over sends it and claims nothing (an ingesting process
    hands over after every batch); a delivery no process was handed (made elsewhere, or a
    retry) is still claimed within the poll (0.2 s here) while hand-overs keep coming."""
    tenant = await make_tenant(alerts_db)
    alerts = alerts_app.state.context.alerts
    claims = 0
    claim_due = webhooks.claim_due

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal claims
        claims += 1
        return await claim_due(*args, **kwargs)

    monkeypatch.setattr(webhooks, "claim_due", counted)

    with receiving() as receiver:
        await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        await asyncio.sleep(0.3)  # the rounds after the subscription's commit are past
        claims = 0
        # Due, claimed by nobody, no deliverer woken.
        assert await ingest_failed(alerts_db, tenant, ["ELSEWHERE"]) == 1
        handed = 20
        started = time.monotonic()
        for number in range(handed):
            claimed_here = alerts.claim_here()
            assert await ingest_failed(alerts_db, tenant, [f"HANDED{number}"], claimed_here) == 1
            alerts.take(claimed_here)
            await asyncio.sleep(0.05)
        sent = {json.loads(d.body)["data"]["job"]["jobId"] for d in receiver.received}
        assert "ELSEWHERE" in sent
        # A claim a poll at most (and one more for a round under way at either end);
        # a claim a hand-over would have been 20 in about a second.
        assert claims <= (time.monotonic() - started) / 0.2 + 2
        assert len(await received(receiver, handed + 1)) == handed + 1


async def test_a_rounds_deliveries_to_one_url_resolve_it_once(
    alerts_app, alerts_client, alerts_db, monkeypatch
):
    """Checked at each round (DNS answers change), not at each delivery: a lookup per
    delivery was a thread's getaddrinfo each time."""
    tenant = await make_tenant(alerts_db)
    alerts = alerts_app.state.context.alerts
    looked_up: list[str] = []
    resolve = deliverer.resolve_destination

    async def counted(url: str, **options: Any) -> Any:
        looked_up.append(url)
        return await resolve(url, **options)

    monkeypatch.setattr(deliverer, "resolve_destination", counted)
    with receiving() as receiver:
        await subscribe(alerts_client, tenant, receiver.url, ["job.failed"])
        claimed_here = alerts.claim_here()
        once = [f"ONCE{n}" for n in range(5)]
        assert await ingest_failed(alerts_db, tenant, once, claimed_here) == 5
        alerts.take(claimed_here)
        assert len(await received(receiver, 5)) == 5
    # (Another test's retries, due meanwhile, may look up their own URLs.)
    assert looked_up.count(receiver.url) == 1
