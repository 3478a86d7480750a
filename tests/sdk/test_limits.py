"""Against a server with two-second tokens and a quota of three requests per window:
token refresh before expiry and after a 401, and 429 retried as Retry-After says."""

import asyncio
import time

import httpx
import pytest

from backupjobs.sdk import AccessToken, RateLimitedError, Retry
from tests.sdk.partner import READ_PERMISSIONS, Recorder, partner_world

pytestmark = pytest.mark.slow

TOKEN_LIFETIME = 2
QUOTA = 3
WINDOW = 3


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with partner_world(
        tmp_path_factory.mktemp("limits"),
        BACKUPJOBS_TOKEN_LIFETIME=str(TOKEN_LIFETIME),
        BACKUPJOBS_RATE_LIMIT_APP=str(QUOTA),
        BACKUPJOBS_RATE_LIMIT_WINDOW=str(WINDOW),
    ) as built:
        yield built


@pytest.fixture
def app(world):
    """An app of its own for each test: its own quota."""
    return world.new_app(*READ_PERMISSIONS)


def wait_for_window(recorder):
    """Sleep until the app's quota window (started by its first request) is over."""
    last = recorder.responses[-1].headers.get("ratelimit", "")
    seconds = int(last.rsplit("t=", 1)[1]) if "t=" in last else WINDOW
    time.sleep(seconds + 0.2)


def test_a_token_is_replaced_before_it_expires(world, app):
    recorder = Recorder()
    with world.client(app, http_client=recorder.sync_client()) as client:
        first = client.authenticate()
        assert first.expires_in == TOKEN_LIFETIME
        assert len(list(client.v3.customers())) == 3
        # Within half the lifetime of its end the token is due: a new one comes first.
        time.sleep(TOKEN_LIFETIME / 2 + 0.1)
        assert len(list(client.v3.customers())) == 3
        assert client.tokens.current.value != first.value
    assert recorder.token_requests() == 2
    assert 401 not in [r.status_code for r in recorder.responses]


async def test_an_expired_token_is_refused_then_replaced_once(world, app):
    async with httpx.AsyncClient() as raw:
        answer = await raw.post(
            f"{world.url}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app.client_id,
                "client_secret": app.secret,
            },
        )
    expired = answer.json()["access_token"]
    await asyncio.sleep(TOKEN_LIFETIME + 0.1)
    recorder = Recorder()
    async with world.async_client(app, http_client=recorder.async_client()) as client:
        # A client that believes its token good for an hour (a clock that jumped, say).
        client.tokens.store(AccessToken(expired, 3600, None, time.monotonic()))
        assert [c.name async for c in client.modern.customers()] == ["Alpha", "Bravo", "Charlie"]
    statuses = [r.status_code for r in recorder.responses]
    assert statuses == [401, 200, 200]  # refused, a new token, the same request again
    assert "expired" in recorder.responses[0].headers["www-authenticate"]
    assert recorder.token_requests() == 1


def test_429_is_retried_after_the_wait_the_service_asks(world, app):
    recorder = Recorder()
    with world.client(app, http_client=recorder.sync_client()) as client:
        client.authenticate()  # token requests do not count against the app's quota
        started = time.monotonic()
        for _ in range(QUOTA + 1):
            assert len(list(client.v3.jobs(world.bravo))) == 2
        elapsed = time.monotonic() - started
    # The token (two seconds) is renewed too while waiting: look at the API calls only.
    calls = [
        (number, response)
        for number, response in enumerate(recorder.responses)
        if response.request.url.path != "/connect/token"
    ]
    assert [response.status_code for _, response in calls] == [200] * QUOTA + [429, 200]
    (refused_at, refused), (retried_at, _) = calls[QUOTA:]
    asked = int(refused.headers["retry-after"])
    assert 0 < asked <= WINDOW
    # The retry went out no earlier than asked.
    assert recorder.sent_at[retried_at] - recorder.received_at[refused_at] >= asked
    assert elapsed >= asked


def test_429_beyond_the_retries_surfaces_with_its_details(world, app):
    recorder = Recorder()
    with world.client(app, retry=Retry(attempts=1), http_client=recorder.sync_client()) as client:
        for _ in range(QUOTA):
            list(client.v3.customers())
        started = time.monotonic()
        with pytest.raises(RateLimitedError) as limited:
            list(client.v3.customers())
        assert time.monotonic() - started < 1  # no wait: the policy allows one try
        wait_for_window(recorder)
        # A wait over max_wait is not attempted: raised at once, with what was asked.
        with world.client(app, retry=Retry(max_wait=0.5)) as patient_client:
            for _ in range(QUOTA):
                list(patient_client.v3.customers())
            started = time.monotonic()
            with pytest.raises(RateLimitedError) as too_long:
                list(patient_client.v3.customers())
            assert time.monotonic() - started < 0.5
    error = limited.value
    assert error.status == 429
    assert error.title == "Too Many Requests"
    assert f"the quota is {QUOTA} requests per {WINDOW} s" in error.detail
    assert 0 < error.retry_after <= WINDOW
    assert error.response.headers["ratelimit-policy"] == f'"app";q={QUOTA};w={WINDOW}'
    assert too_long.value.retry_after > 0.5
