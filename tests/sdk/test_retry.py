"""The retry policy, and reading Retry-After and Bearer challenges from answers."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from backupjobs.sdk import ConfigurationError, Retry
from backupjobs.sdk.errors import (
    BadRequestError,
    OAuthError,
    ServerError,
    bearer_challenge,
    problem_error,
    retry_after,
    token_error,
)


def answer(status, *, headers=None, json=None, text=None):
    request = httpx.Request("GET", "https://api.example.com/partner/customers?$top=5")
    return httpx.Response(status, headers=headers, json=json, text=text, request=request)


def test_retry_after_honoured_with_a_little_jitter_never_earlier():
    policy = Retry(attempts=3, backoff=0.5, rng=random.Random(1))
    waits = [policy.wait(1, 4.0) for _ in range(50)]
    assert all(4.0 <= wait <= 4.5 for wait in waits)
    assert len(set(waits)) > 1


def test_without_retry_after_the_wait_doubles_up_to_its_ceiling():
    policy = Retry(attempts=10, backoff=1.0, max_backoff=8.0, rng=random.Random(2))
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (7, 8.0)]:
        waits = [policy.wait(attempt, None) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits), attempt


def test_the_retries_are_bounded():
    policy = Retry(attempts=3, max_wait=10)
    assert policy.wait(2, None) is not None
    assert policy.wait(3, None) is None  # three tries made
    assert policy.wait(1, 11.0) is None  # asked to wait longer than allowed
    assert Retry(attempts=1).wait(1, 0.0) is None
    with pytest.raises(ConfigurationError, match="attempts"):
        Retry(attempts=0)
    with pytest.raises(ConfigurationError, match="backoff"):
        Retry(backoff=-1)


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after(answer(429, headers={"Retry-After": "41"})) == 41
    sent = httpx.Headers({"Date": "Sun, 22 Nov 2026 12:00:00 GMT"})
    dated = answer(503, headers={**sent, "Retry-After": "Sun, 22 Nov 2026 12:00:30 GMT"})
    assert retry_after(dated) == 30
    assert retry_after(answer(429)) is None
    assert retry_after(answer(429, headers={"Retry-After": "soon"})) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    undated = retry_after(answer(503, headers={"Retry-After": later}))
    assert 55 <= undated <= 60


def test_bearer_challenges():
    header = (
        'Bearer realm="backupjobs", error="insufficient_scope", '
        'scope="partner.jobs.read.all", error_description="a \\"quoted\\" word, and a comma"'
    )
    assert bearer_challenge(header) == {
        "realm": "backupjobs",
        "error": "insufficient_scope",
        "scope": "partner.jobs.read.all",
        "error_description": 'a "quoted" word, and a comma',
    }
    assert bearer_challenge('Basic realm="x"') == {}
    assert bearer_challenge("Bearer error=invalid_token") == {"error": "invalid_token"}


def test_errors_from_any_answer():
    problem = problem_error(
        answer(
            400,
            json={"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "no"},
        )
    )
    assert isinstance(problem, BadRequestError)
    assert str(problem) == "400 Bad Request: no (GET https://api.example.com/partner/customers)"
    plain = problem_error(answer(502, text="<html>bad gateway</html>"))
    assert isinstance(plain, ServerError)
    assert (plain.title, plain.detail, plain.type) == (
        "Bad Gateway",
        "<html>bad gateway</html>",
        "about:blank",
    )
    oauth = token_error(
        answer(400, json={"error": "invalid_scope", "error_description": "unknown scope x"})
    )
    assert isinstance(oauth, OAuthError)
    assert (oauth.error, oauth.error_description) == ("invalid_scope", "unknown scope x")
    limited = token_error(answer(429, headers={"Retry-After": "7"}, json={"title": "Too Many"}))
    assert limited.retry_after == 7
    assert not isinstance(limited, OAuthError)
