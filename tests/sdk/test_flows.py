"""What a wire-compatible service might answer that backupjobs never does: a token refused
twice, a next link to another host or back to the same page, a page that never ends, a
token without a lifetime, dropped connections. A scripted httpx transport plays it."""

import json

import httpx
import pytest

from backupjobs.sdk import (
    AuthenticationError,
    Client,
    ClientSecret,
    Retry,
    UnreachableError,
    WireFormatError,
)

API = "https://graph.example.com"
TOKEN = {"access_token": "t1", "token_type": "Bearer", "expires_in": 3600}


class Script:
    """Answers requests by path; records them. A handler may return a list: one per call."""

    def __init__(self, **routes):
        self.routes = routes
        self.seen = []

    def __call__(self, request):
        self.seen.append(request)
        answer = self.routes[request.url.path]
        if isinstance(answer, list):
            answer = answer.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def client(self, retry=None):
        transport = httpx.MockTransport(self)
        return Client(
            API,
            ClientSecret("c", "s"),
            http_client=httpx.Client(transport=transport),
            retry=retry or Retry(backoff=0.01),
        )

    def paths(self):
        return [request.url.path for request in self.seen]


def ok(body):
    return httpx.Response(200, json=body)


def unauthorized():
    return httpx.Response(
        401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        json={"title": "Unauthorized", "status": 401, "detail": "The token is not ours."},
    )


CUSTOMER = {"id": "c1", "organization": "Alpha", "ownerEmail": "", "jobStatus": "N/A",
            "countryOrRegion": ""}  # fmt: skip


def test_a_token_refused_twice_is_an_authentication_error_after_one_renewal():
    script = Script(
        **{"/connect/token": ok(TOKEN), "/partner/customers/c1": lambda r: unauthorized()}
    )
    with script.client() as client, pytest.raises(AuthenticationError) as refused:
        client.modern.customer("c1")
    assert script.paths() == ["/connect/token", "/partner/customers/c1"] * 2
    assert refused.value.challenge == {"error": "invalid_token"}
    assert refused.value.detail == "The token is not ours."


def test_a_next_link_to_another_host_is_not_followed():
    page = {"value": [CUSTOMER], "@odata.nextLink": "https://evil.example.com/partner/customers"}
    script = Script(**{"/connect/token": ok(TOKEN), "/partner/customers": ok(page)})
    with script.client() as client, pytest.raises(WireFormatError) as refused:
        list(client.modern.customers())
    assert "the token is sent only there" in str(refused.value)
    assert {request.url.host for request in script.seen} == {"graph.example.com"}


def test_a_relative_next_link_is_followed_and_one_to_the_same_page_is_refused():
    first = {"value": [CUSTOMER], "@odata.nextLink": "customers?$skip=1"}
    again = {"value": [CUSTOMER], "@odata.nextLink": f"{API}/partner/customers?$skip=1"}
    script = Script(**{"/connect/token": ok(TOKEN), "/partner/customers": [ok(first), ok(again)]})
    with script.client() as client, pytest.raises(WireFormatError, match="another page"):
        list(client.modern.customers())
    assert script.seen[2].url.path == "/partner/customers"
    assert script.seen[2].url.params["$skip"] == "1"


def test_v3_paging_stops_at_the_total_even_if_pages_never_run_dry():
    def page(request):
        index = int(request.url.params["pageIndex"])
        return ok(
            {"data": [CUSTOMER], "metadata": {"pageIndex": index, "pageSize": 1, "totalCount": 3}}
        )

    script = Script(
        **{"/connect/token": ok(TOKEN), "/partner/external/v3/general/customers/batch": page}
    )
    with script.client() as client:
        assert len(list(client.v3.customers(page_size=1))) == 3
    sent = [json.loads(r.content) for r in script.seen[1:]]
    assert sent == [{}, {}, {}]
    assert [r.url.params["pageIndex"] for r in script.seen[1:]] == ["1", "2", "3"]


def test_a_token_without_a_lifetime_is_kept_until_refused():
    forever = {"access_token": "t1", "token_type": "bearer"}
    script = Script(
        **{
            "/connect/token": [ok(forever), ok({**forever, "access_token": "t2"})],
            "/partner/customers/c1": [ok(CUSTOMER), ok(CUSTOMER), unauthorized(), ok(CUSTOMER)],
        }
    )
    with script.client() as client:
        for _ in range(3):
            client.modern.customer("c1")
    assert script.paths().count("/connect/token") == 2
    assert script.seen[-1].headers["authorization"] == "Bearer t2"


def test_dropped_connections_are_retried_then_given_up():
    script = Script(
        **{
            "/connect/token": [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok(TOKEN)],
            "/partner/customers/c1": ok(CUSTOMER),
        }
    )
    with script.client() as client:
        assert client.modern.customer("c1").name == "Alpha"
    assert script.paths().count("/connect/token") == 3

    script = Script(**{"/connect/token": [httpx.ConnectError("refused")] * 2})
    with (
        script.client(retry=Retry(attempts=2, backoff=0.01)) as client,
        pytest.raises(UnreachableError, match="tried 2 times") as unreachable,
    ):
        client.authenticate()
    assert isinstance(unreachable.value.__cause__, httpx.ConnectError)


def test_a_token_answer_off_the_format_is_named():
    script = Script(**{"/connect/token": ok({"access_token": "t", "token_type": "mac"})})
    with script.client() as client, pytest.raises(WireFormatError, match="token_type"):
        client.authenticate()
