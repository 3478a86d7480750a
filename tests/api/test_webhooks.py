"""``/api/v1/webhooks`` over HTTP: the subscription's life, bad input, tenant isolation and
the destinations refused (SSRF)."""

import uuid

import pytest

from backupjobs.auth.permissions import Permission
from tests.alerts.hooks import WEBHOOKS, subscribe
from tests.world import add_app, make_tenant

RECEIVER = "http://127.0.0.1:9/hook"  # allowed by alerts_app; never called here


async def test_a_subscription_is_created_listed_shown_changed_and_deleted(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db)
    headers = await tenant.headers(alerts_client)
    made = await subscribe(
        alerts_client,
        tenant,
        RECEIVER,
        ["job.failed", "service.stale"],
        customerIds=[str(tenant.customers[0])],
        staleAfter="P2D",
        description="PSA",
    )
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["events"] == ["job.failed", "service.stale"]
    assert made["staleAfter"] == "PT48H" and made["format"] == "standard"
    assert made["customerIds"] == [str(tenant.customers[0])] and made["enabled"] is True
    shown = (await alerts_client.get(f"{WEBHOOKS}/{made['id']}", headers=headers)).json()
    assert "secret" not in shown
    assert shown == {key: value for key, value in made.items() if key != "secret"}

    changed = await alerts_client.patch(
        f"{WEBHOOKS}/{made['id']}",
        json={"customerIds": None, "events": ["job.warning"], "format": "slack", "enabled": False},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["customerIds"] is None and body["events"] == ["job.warning"]
    assert body["format"] == "slack" and body["enabled"] is False
    assert body["description"] == "PSA"

    second = await subscribe(alerts_client, tenant, RECEIVER, ["job.failed"])
    first_page = await alerts_client.get(WEBHOOKS, params={"limit": 1}, headers=headers)
    assert [w["id"] for w in first_page.json()["items"]] == [made["id"]]
    cursor = first_page.json()["nextCursor"]
    assert cursor and 'rel="next"' in first_page.headers["Link"]
    rest = await alerts_client.get(WEBHOOKS, params={"limit": 1, "cursor": cursor}, headers=headers)
    assert [w["id"] for w in rest.json()["items"]] == [second["id"]]
    assert rest.json()["nextCursor"] is None
    tampered = await alerts_client.get(
        WEBHOOKS, params={"limit": 1, "cursor": cursor[:-2] + "AA"}, headers=headers
    )
    assert tampered.status_code == 400 and "cursor" in tampered.json()["detail"]

    assert (
        await alerts_client.delete(f"{WEBHOOKS}/{made['id']}", headers=headers)
    ).status_code == 204
    gone = await alerts_client.get(f"{WEBHOOKS}/{made['id']}", headers=headers)
    assert gone.status_code == 404


async def test_the_deliveries_page_by_cursor(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db)
    headers = await tenant.headers(alerts_client)
    hook = await subscribe(alerts_client, tenant, RECEIVER, ["job.failed"])
    for _ in range(3):
        assert (
            await alerts_client.post(f"{WEBHOOKS}/{hook['id']}/test", headers=headers)
        ).status_code == 202
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await alerts_client.get(
            f"{WEBHOOKS}/{hook['id']}/deliveries", params=params, headers=headers
        )
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 3 and len({d["id"] for d in seen}) == 3
    assert {d["eventType"] for d in seen} == {"ping"}
    times = [d["createdTime"] for d in seen]
    assert times == sorted(times, reverse=True)
    other = await subscribe(alerts_client, tenant, RECEIVER, ["job.failed"])
    wrong = await alerts_client.get(
        f"{WEBHOOKS}/{other['id']}/deliveries",
        params={"limit": 2, "cursor": page.json()["nextCursor"] or cursor or "x"},
        headers=headers,
    )
    assert wrong.status_code == 400


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"events": ["job.failed"]}, "url and events are required"),
        ({"url": RECEIVER}, "url and events are required"),
        ({"url": RECEIVER, "events": ["job.exploded"]}, "job.exploded"),
        ({"url": RECEIVER, "events": ["ping"]}, "valid: job.failed"),
        ({"url": RECEIVER, "events": []}, "at least one"),
        ({"url": "ftp://example.com/x", "events": ["job.failed"]}, "http or https"),
        ({"url": "not a url", "events": ["job.failed"]}, "http or https"),
        ({"url": RECEIVER, "events": ["job.failed"], "staleAfter": "P1M"}, "staleAfter"),
        ({"url": RECEIVER, "events": ["job.failed"], "format": "discord"}, "valid: standard"),
        ({"url": RECEIVER, "events": ["job.failed"], "colour": "red"}, "colour"),
        ({"url": RECEIVER, "events": "job.failed"}, "$.events"),
        ({"url": RECEIVER, "events": ["job.failed"], "customerIds": ["x"]}, "customerIds"),
        ({"url": RECEIVER, "events": ["job.failed"], "enabled": False}, "PATCH only"),
        ({"url": RECEIVER, "events": ["job.failed"], "description": "x" * 501}, "description"),
    ],
)
async def test_bad_input_is_a_400_naming_what_is_wrong(alerts_client, alerts_db, body, named):
    tenant = await make_tenant(alerts_db)
    response = await alerts_client.post(
        WEBHOOKS, json=body, headers=await tenant.headers(alerts_client)
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.json()["detail"]


async def test_a_body_that_is_not_json_is_refused(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db)
    headers = await tenant.headers(alerts_client)
    broken = await alerts_client.post(
        WEBHOOKS, content=b"{", headers={**headers, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    text = await alerts_client.post(
        WEBHOOKS, content=b"x", headers={**headers, "Content-Type": "text/plain"}
    )
    assert text.status_code == 415


async def test_another_partners_subscription_is_indistinguishable_from_none(
    alerts_client, alerts_db
):
    owner = await make_tenant(alerts_db)
    stranger = await make_tenant(alerts_db)
    hook = await subscribe(alerts_client, owner, RECEIVER, ["job.failed"])
    headers = await stranger.headers(alerts_client)
    missing, delivery = str(uuid.uuid4()), str(uuid.uuid4())
    foreign_details: list[str] = []
    for webhook_id in (hook["id"], missing):
        answers = [
            await alerts_client.get(f"{WEBHOOKS}/{webhook_id}", headers=headers),
            await alerts_client.patch(
                f"{WEBHOOKS}/{webhook_id}", json={"enabled": False}, headers=headers
            ),
            await alerts_client.post(f"{WEBHOOKS}/{webhook_id}/test", headers=headers),
            await alerts_client.post(f"{WEBHOOKS}/{webhook_id}/rotate-secret", headers=headers),
            await alerts_client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", headers=headers),
            await alerts_client.get(
                f"{WEBHOOKS}/{webhook_id}/deliveries/{delivery}", headers=headers
            ),
            await alerts_client.post(
                f"{WEBHOOKS}/{webhook_id}/deliveries/{delivery}/redeliver", headers=headers
            ),
            await alerts_client.delete(f"{WEBHOOKS}/{webhook_id}", headers=headers),
        ]
        assert [a.status_code for a in answers] == [404] * 8
        details = [a.json()["detail"].replace(webhook_id, "ID") for a in answers]
        if webhook_id == missing:
            assert details == foreign_details
        foreign_details = details
    listed = await alerts_client.get(WEBHOOKS, headers=headers)
    assert listed.json()["items"] == []
    # The owner's subscription is untouched.
    shown = await alerts_client.get(
        f"{WEBHOOKS}/{hook['id']}", headers=await owner.headers(alerts_client)
    )
    assert shown.json()["enabled"] is True


async def test_an_id_that_is_not_one_names_no_webhook_or_delivery(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db)
    hook = await subscribe(alerts_client, tenant, RECEIVER, ["job.failed"])
    headers = await tenant.headers(alerts_client)
    for path, named in (
        ("not-an-id", "Webhook not-an-id"),
        ("not-an-id/deliveries", "Webhook not-an-id"),
        (f"{hook['id']}/deliveries/not-an-id", "Delivery not-an-id"),
        (f"{hook['id']}/deliveries/not-an-id/redeliver", "Delivery not-an-id"),
    ):
        method = "POST" if path.endswith("redeliver") else "GET"
        answer = await alerts_client.request(method, f"{WEBHOOKS}/{path}", headers=headers)
        assert answer.status_code == 404, path
        assert answer.json()["detail"].startswith(named), answer.text


async def test_a_customer_outside_the_apps_tenant_scope_is_not_found(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db, customers=2, app_customers=[0])
    stranger = await make_tenant(alerts_db)
    headers = await tenant.headers(alerts_client)
    for customer in (tenant.customers[1], stranger.customers[0], uuid.uuid4()):
        response = await alerts_client.post(
            WEBHOOKS,
            json={"url": RECEIVER, "events": ["job.failed"], "customerIds": [str(customer)]},
            headers=headers,
        )
        assert response.status_code == 404
        assert response.json()["detail"] == f"Customer {customer} was not found."
    # Another app of the partner, with a wider scope, lists the customers it may see.
    wide = await add_app(alerts_db, tenant)
    hook = await subscribe(
        alerts_client, wide, RECEIVER, ["job.failed"], customerIds=[str(tenant.customers[1])]
    )
    seen = await alerts_client.get(f"{WEBHOOKS}/{hook['id']}", headers=headers)
    assert seen.json()["customerIds"] == []


async def test_the_permission_is_required(alerts_client, alerts_db):
    tenant = await make_tenant(alerts_db, permissions=frozenset({Permission.JOBS_WRITE.value}))
    response = await alerts_client.get(WEBHOOKS, headers=await tenant.headers(alerts_client))
    assert response.status_code == 403
    assert "elements.alerts.manage.all" in response.headers["WWW-Authenticate"]
    assert (await alerts_client.get(WEBHOOKS)).status_code == 401


async def test_an_options_request_needs_no_token(alerts_client):
    """The permission guards each route, not the router the routes share: OPTIONS stays
    answered without a token."""
    some = uuid.uuid4()
    for path in (WEBHOOKS, f"{WEBHOOKS}/{some}", f"{WEBHOOKS}/{some}/deliveries/{some}/redeliver"):
        answer = await alerts_client.options(path)
        assert answer.status_code == 204, (path, answer.text)
        assert "OPTIONS" in answer.headers["allow"]
