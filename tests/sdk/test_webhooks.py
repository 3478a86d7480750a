"""The SDK's webhook verifier (against the Standard Webhooks reference library) and its
``client.webhooks`` calls on a real server."""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook as ReferenceWebhook

from backupjobs.sdk import NotFoundError, WebhookVerificationError, WebhookVerifier
from backupjobs.sdk.webhooks import secret_key, sign

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 32).decode()
BODY = b'{"type":"ping","timestamp":"2026-12-02T17:00:00.000Z","data":{}}'
PUBLIC_URL = "https://93.184.215.14/hook"  # a public address: never called by these tests


def _headers(secret=SECRET, *, at=None, message_id="evt-1", body=BODY):
    timestamp = int(time.time() if at is None else at)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret_key(secret), message_id, timestamp, body),
    }


def test_a_signed_delivery_verifies_and_the_reference_library_agrees():
    headers = _headers()
    assert WebhookVerifier(SECRET).verify(BODY, headers) == json.loads(BODY)
    assert ReferenceWebhook(SECRET).verify(BODY, headers) == json.loads(BODY)
    # And the SDK verifies what the reference library signs.
    stamp = datetime.now(UTC)
    reference = ReferenceWebhook(SECRET).sign("evt-2", stamp, BODY.decode())
    theirs = {
        "webhook-id": "evt-2",
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": reference,
    }
    assert WebhookVerifier(SECRET).verify(BODY.decode(), theirs)["type"] == "ping"


@pytest.mark.parametrize(
    ("make_headers", "body", "complaint"),
    [
        (lambda: _headers(OTHER), BODY, "no valid signature"),
        (_headers, BODY + b" ", "no valid signature"),
        (lambda: _headers(at=time.time() - 3600), BODY, "from now"),
        (lambda: _headers(at=time.time() + 3600), BODY, "from now"),
        (lambda: {"webhook-id": "x"}, BODY, "missing"),
        (lambda: {**_headers(), "webhook-timestamp": "soon"}, BODY, "integer"),
        (lambda: {**_headers(), "webhook-id": "evt-9"}, BODY, "no valid signature"),
    ],
)
def test_anything_else_is_refused(make_headers, body, complaint):
    # Headers made when the test runs: their timestamps are now.
    with pytest.raises(WebhookVerificationError, match=complaint):
        WebhookVerifier(SECRET).verify(body, make_headers())


def test_during_a_rotation_either_secret_verifies_and_either_signature_suffices():
    headers = _headers()
    both = {
        **headers,
        "webhook-signature": _headers(OTHER)["webhook-signature"]
        + " "
        + headers["webhook-signature"],
    }
    assert WebhookVerifier(SECRET).verify(BODY, both)
    assert WebhookVerifier([OTHER, SECRET]).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        WebhookVerifier("not base64!")


def test_the_client_manages_webhooks(world):
    app = world.new_app("elements.alerts.manage.all")
    with world.client(app) as client:
        made = client.webhooks.create(
            PUBLIC_URL, ["job.failed"], customer_ids=[world.alpha], stale_after="PT12H"
        )
        assert made["secret"].startswith("whsec_") and made["customerIds"] == [world.alpha]
        assert made["id"] in [w["id"] for w in client.webhooks.list(page_size=1)]
        changed = client.webhooks.update(made["id"], customer_ids=None, format="teams")
        assert changed["customerIds"] is None and changed["format"] == "teams"
        assert client.webhooks.get(made["id"])["staleAfter"] == "PT12H"
        ping = client.webhooks.test(made["id"])
        assert ping["eventType"] == "ping"
        (listed,) = list(client.webhooks.deliveries(made["id"]))
        assert listed["id"] == ping["id"]
        assert client.webhooks.delivery(made["id"], ping["id"])["attemptLog"] is not None
        assert client.webhooks.redeliver(made["id"], ping["id"])["status"] == "pending"
        assert client.webhooks.rotate_secret(made["id"])["secret"] != made["secret"]
        client.webhooks.delete(made["id"])
        with pytest.raises(NotFoundError):
            client.webhooks.get(made["id"])


async def test_the_async_client_manages_webhooks(world):
    app = world.new_app("elements.alerts.manage.all")
    async with world.async_client(app) as client:
        made = await client.webhooks.create(PUBLIC_URL, ["service.stale"], format="slack")
        assert [w["id"] async for w in client.webhooks.list()] == [made["id"]]
        changed = await client.webhooks.update(made["id"], enabled=False)
        assert changed["enabled"] is False
        await client.webhooks.test(made["id"])
        assert len([d async for d in client.webhooks.deliveries(made["id"])]) == 1
        await client.webhooks.delete(made["id"])
        with pytest.raises(NotFoundError):
            await client.webhooks.get(made["id"])
