"""Rate limits in one process: per app on resource APIs, per client and address on tokens."""

import re
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from backupjobs.api import build_application
from backupjobs.api.ratelimit import LocalCounters, Policy, RateLimiter
from backupjobs.settings import Settings, SettingsError
from tests.conftest import PUBLIC_URL
from tests.world import add_app, get_token, make_tenant, v3_jobs_path

ITEM = re.compile(r'^"(?P<name>[a-z-]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


@pytest.fixture(scope="module")
async def limited(settings) -> AsyncIterator[object]:
    """The API with small quotas, on the session's database."""
    application = build_application(
        settings.with_changes(
            rate_limit_app=3, rate_limit_token_client=2, rate_limit_token_address=6
        )
    )
    async with application.lifespan():
        yield application


def client_from(app, address: str = "198.51.100.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)


def items(header: str) -> dict[str, tuple[int, int]]:
    """``RateLimit`` items by policy name: (remaining, seconds to reset)."""
    found = {}
    for item in header.split(", "):
        match = ITEM.match(item)
        assert match, header
        found[match["name"]] = (int(match["r"]), int(match["t"]))
    return found


async def token_for(app, tenant, address):
    async with client_from(app, address) as http:
        return await get_token(http, tenant.client_id, tenant.secret)


async def jobs(http, tenant, token):
    return await http.post(
        v3_jobs_path(tenant.customers[0]), headers={"Authorization": f"Bearer {token}"}
    )


async def test_allowed_requests_carry_the_remaining_quota(limited, db):
    tenant = await make_tenant(db)
    token = await token_for(limited, tenant, "192.0.2.1")
    async with client_from(limited) as http:
        for remaining in (2, 1, 0):
            response = await jobs(http, tenant, token)
            assert response.status_code == 200
            assert response.headers["ratelimit-policy"] == '"app";q=3;w=60'
            left, reset = items(response.headers["ratelimit"])["app"]
            assert left == remaining and 0 < reset <= 60


async def test_over_the_quota_is_429_problem_with_retry_after(limited, db):
    tenant = await make_tenant(db)
    token = await token_for(limited, tenant, "192.0.2.2")
    async with client_from(limited) as http:
        for _ in range(3):
            assert (await jobs(http, tenant, token)).status_code == 200
        response = await jobs(http, tenant, token)
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 429 and problem["title"] == "Too Many Requests"
    assert "3 requests per 60 s" in problem["detail"]
    left, reset = items(response.headers["ratelimit"])["app"]
    assert left == 0
    assert response.headers["retry-after"] == str(reset)
    assert response.headers["ratelimit-policy"] == '"app";q=3;w=60'


async def test_one_partners_exhausted_quota_does_not_touch_anothers(limited, db):
    greedy, other = await make_tenant(db), await make_tenant(db)
    sibling = await add_app(db, greedy)
    tokens = {}
    for name, tenant in (("greedy", greedy), ("other", other), ("sibling", sibling)):
        tokens[name] = await token_for(limited, tenant, f"192.0.2.{len(tokens) + 10}")
    async with client_from(limited) as http:
        statuses = [(await jobs(http, greedy, tokens["greedy"])).status_code for _ in range(6)]
        assert statuses == [200, 200, 200, 429, 429, 429]
        for name, tenant in (("other", other), ("sibling", sibling)):
            response = await jobs(http, tenant, tokens[name])
            assert response.status_code == 200
            assert items(response.headers["ratelimit"])["app"][0] == 2


async def test_requests_without_a_valid_token_are_not_counted(limited, db):
    tenant = await make_tenant(db)
    token = await token_for(limited, tenant, "192.0.2.3")
    async with client_from(limited) as http:
        for headers in ({}, {"Authorization": "Bearer not.a.token"}, {"Authorization": "Basic x"}):
            response = await http.post(v3_jobs_path(tenant.customers[0]), headers=headers)
            assert response.status_code == 401
            assert "ratelimit" not in response.headers
        first = await jobs(http, tenant, token)
    assert items(first.headers["ratelimit"])["app"][0] == 2


async def test_token_requests_are_limited_per_address_whatever_their_outcome(limited, db):
    tenant = await make_tenant(db)
    async with client_from(limited, "203.0.113.9") as http:
        wrong = {"grant_type": "client_credentials", "client_id": tenant.client_id}
        statuses = []
        for _ in range(7):
            response = await http.post("/connect/token", data={**wrong, "client_secret": "bjs_x"})
            statuses.append(response.status_code)
        assert statuses == [401] * 6 + [429]
        assert response.headers["content-type"] == "application/problem+json"
        assert "from this address" in response.json()["detail"]
        left, reset = items(response.headers["ratelimit"])["token-address"]
        assert left == 0 and response.headers["retry-after"] == str(reset)
        assert response.headers["ratelimit-policy"] == '"token-address";q=6;w=60'
        # Even a correct request from that address waits.
        right = await http.post("/connect/token", data={**wrong, "client_secret": tenant.secret})
        assert right.status_code == 429
    # Another address is not affected.
    assert await token_for(limited, tenant, "203.0.113.10")


async def test_token_requests_are_limited_per_client_once_authenticated(limited, db):
    tenant, other = await make_tenant(db), await make_tenant(db)
    form = {
        "grant_type": "client_credentials",
        "client_id": tenant.client_id,
        "client_secret": tenant.secret,
    }
    # Failed attempts (anyone can send them) do not use up the client's quota.
    async with client_from(limited, "203.0.113.20") as http:
        for _ in range(3):
            bad = await http.post("/connect/token", data={**form, "client_secret": "bjs_no"})
            assert bad.status_code == 401
            assert set(items(bad.headers["ratelimit"])) == {"token-address"}
    for number, remaining in enumerate((1, 0)):
        async with client_from(limited, f"203.0.113.{30 + number}") as http:
            response = await http.post("/connect/token", data=form)
        assert response.status_code == 200
        found = items(response.headers["ratelimit"])
        assert found["token-client"][0] == remaining
        assert found["token-address"][0] == 5
        assert response.headers["ratelimit-policy"] == (
            '"token-address";q=6;w=60, "token-client";q=2;w=60'
        )
    async with client_from(limited, "203.0.113.40") as http:
        response = await http.post("/connect/token", data=form)
    assert response.status_code == 429
    assert "for this client" in response.json()["detail"]
    assert items(response.headers["ratelimit"])["token-client"][0] == 0
    assert await token_for(limited, other, "203.0.113.40")


async def test_a_quota_of_zero_turns_a_limit_off(settings, db):
    application = build_application(
        settings.with_changes(
            rate_limit_app=0, rate_limit_token_client=0, rate_limit_token_address=0
        )
    )
    tenant = await make_tenant(db)
    async with application.lifespan(), client_from(application) as http:
        token = await get_token(http, tenant.client_id, tenant.secret)
        response = await jobs(http, tenant, token)
    assert response.status_code == 200
    assert "ratelimit" not in response.headers


async def test_the_window_starts_again_when_it_ends():
    limiter = RateLimiter(
        LocalCounters(),
        app=Policy("app", 2, 1),
        token_client=Policy("token-client", 0, 1),
        token_address=Policy("token-address", 0, 1),
    )
    used = [await limiter.hit(limiter.app, "client") for _ in range(3)]
    assert [u.limited for u in used] == [False, False, True]
    assert [u.reset for u in used] == [1, 1, 1]
    await anyio.sleep(1.05)
    again = await limiter.hit(limiter.app, "client")
    assert not again.limited and again.remaining == 1
    assert await limiter.hit(limiter.token_client, "client") is None


async def test_local_counters_forget_ended_windows():
    counters = LocalCounters()
    for number in range(3000):
        await counters.hit(f"k{number}", 1)
    await anyio.sleep(0.01)
    await counters.hit("fresh", 60_000)
    assert len(counters._windows) < 3000


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RATE_LIMIT_WINDOW", "0"), ("RATE_LIMIT_APP", "-1"), ("RATE_LIMIT_TOKEN_ADDRESS", "-5")],
)
def test_bad_limits_are_refused_at_startup(variable, value):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({f"BACKUPJOBS_{variable}": value})


def test_documented_defaults():
    defaults = Settings()
    assert (defaults.rate_limit_window, defaults.rate_limit_app) == (60, 3000)
    assert (defaults.rate_limit_token_client, defaults.rate_limit_token_address) == (60, 300)
    assert defaults.redis_url == ""
