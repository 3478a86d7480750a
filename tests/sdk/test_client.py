"""The SDK against a real server: both generations, sync and async, paging, sign-in, errors."""

import asyncio
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt
import pytest

from backupjobs.sdk import (
    AccessToken,
    BadRequestError,
    Client,
    ClientCertificate,
    ClientSecret,
    Coded,
    Customer,
    NotFoundError,
    OAuthError,
    PermissionDeniedError,
    UnreachableError,
)
from backupjobs.sdk.retry import Retry
from tests.auth.credentials import certificate_pem, private_key, private_key_pem
from tests.processes import cli_json, free_port
from tests.sdk.partner import Recorder, alpha_jobs

pytestmark = pytest.mark.slow


def test_v3_jobs_are_typed_records_read_page_by_page_to_the_end(world):
    recorder = Recorder()
    with world.client(http_client=recorder.sync_client()) as client:
        listing = client.v3.jobs(world.alpha, page_size=2)
        found = list(listing)
    assert found == alpha_jobs(world.alpha, placeholder_status="None")
    assert listing.total == 7
    pages = [r for r in recorder.requests if r.url.path.endswith("/avpt-products/jobs/batch")]
    assert [r.url.params["pageIndex"] for r in pages] == ["1", "2", "3", "4"]
    assert {r.url.params["pageSize"] for r in pages} == {"2"}
    assert recorder.token_requests() == 1  # one token for every page


def test_modern_jobs_follow_the_next_link_to_the_same_records(world):
    recorder = Recorder()
    with world.client(http_client=recorder.sync_client()) as client:
        found = list(client.modern.jobs(world.alpha, page_size=3))
        counted = client.modern.jobs(world.alpha, count=True)
        everything = list(counted)
    assert found == alpha_jobs(world.alpha, placeholder_status="Not Finished")
    assert everything == found
    assert counted.total == 7
    pages = [r for r in recorder.requests if r.url.path.endswith("/jobs")]
    assert [r.url.params.get("$skip") for r in pages] == [None, "3", "6", None]
    # The page size is OData's preference, on every page: $top would end the walk.
    assert [r.url.params.get("$top") for r in pages] == [None] * 4
    assert [r.headers.get("prefer") for r in pages] == ["odata.maxpagesize=3"] * 3 + [None]


def test_one_page_at_a_time_with_its_total(world):
    with world.client() as client:
        pages = list(client.v3.jobs(world.alpha, page_size=3).pages())
    assert [len(page.items) for page in pages] == [3, 3, 1]
    assert {page.total for page in pages} == {7}
    assert pages[-1].next_call is None


async def test_the_async_client_has_the_same_surface_and_answers(world):
    recorder = Recorder()
    async with world.async_client(http_client=recorder.async_client()) as client:
        v3_jobs = [job async for job in client.v3.jobs(world.alpha, page_size=2)]
        modern_jobs = [job async for job in client.modern.jobs(world.alpha, page_size=2)]
        v3_customers = [c async for c in client.v3.customers(page_size=1)]
        modern_customers = [c async for c in client.modern.customers(page_size=1)]
        one = await client.modern.customer(world.bravo)
        service = await client.modern.service(world.alpha, "microsoft 365", "sharepoint online")
        token = await client.authenticate()
    assert v3_jobs == alpha_jobs(world.alpha, placeholder_status="None")
    assert modern_jobs == alpha_jobs(world.alpha, placeholder_status="Not Finished")
    assert [c.name for c in v3_customers] == ["Alpha", "Bravo", "Charlie"]
    assert modern_customers == v3_customers
    assert one == v3_customers[1]
    assert service == v3_jobs[0]
    assert token.scope is not None and "partner.jobs.read.all" in token.scope.split()
    assert recorder.token_requests() == 1
    # Pages were fetched one by one: three customers, one per page, in each generation.
    assert recorder.paths("POST").count("/partner/external/v3/general/customers/batch") == 3
    assert recorder.paths("GET").count("/partner/customers") == 3


def test_customers_in_both_generations(world):
    with world.client() as client:
        listing = client.v3.customers(page_size=1)
        v3_customers = list(listing)
        modern = client.modern.customers(page_size=2, count=True)
        modern_customers = list(modern)
        only_bravo = list(client.v3.customers([world.bravo]))
    assert [c.name for c in v3_customers] == ["Alpha", "Bravo", "Charlie"]
    assert [c.id for c in v3_customers] == [world.alpha, world.bravo, world.charlie]
    assert all(c.created_time is not None and c.created_time.tzinfo for c in v3_customers)
    assert listing.total == 3
    assert modern_customers == v3_customers
    assert modern.total == 3
    assert only_bravo == [v3_customers[1]]
    assert isinstance(only_bravo[0], Customer)


def test_filters_take_names_or_codes_in_either_generation(world):
    expected = alpha_jobs(world.alpha, placeholder_status="None")
    with world.client() as client:
        by_name = list(client.v3.jobs(world.alpha, job_type="Microsoft 365"))
        by_code = list(client.v3.jobs(world.alpha, job_type=7))
        sharepoint = list(
            client.v3.jobs(world.alpha, job_type="microsoft 365", job_module="SharePoint Online")
        )
        modern_gmail = list(client.modern.jobs(world.alpha, job_module=501))
        modern_gmail_listing = client.modern.jobs(world.alpha, job_module="Gmail", count=True)
        list(modern_gmail_listing)
    assert by_name == by_code == expected[:5]
    assert sharepoint == expected[:1]
    assert modern_gmail == [expected[5]]
    assert modern_gmail_listing.total is None  # filtered by the SDK: no total to give
    with pytest.raises(ValueError, match="Microsoft 366"):
        world.client().v3.jobs(world.alpha, job_type="Microsoft 366")


def test_one_service_through_the_seed_endpoint(world):
    with world.client() as client:
        sharepoint = client.modern.service(world.alpha, "Microsoft 365", "SharePoint Online")
        by_codes = client.modern.service(world.alpha, 7, 302)
        never_enabled = client.modern.service(world.alpha, "Microsoft 365", "Power BI")
    assert sharepoint == by_codes == alpha_jobs(world.alpha, placeholder_status="x")[0]
    assert not never_enabled.has_run
    assert never_enabled.status == Coded(0, "Not Finished")
    assert never_enabled.job_module == Coded(310, "Power BI")
    assert never_enabled.backup_size == 0
    assert never_enabled.start_time is None


def test_a_running_job_has_no_end_and_a_duration_to_now(world):
    with world.client() as client:
        bravo = list(client.v3.jobs(world.bravo))
    running = bravo[1]
    assert running.status == Coded(1, "Running")
    assert running.end_time is None
    assert running.duration is not None and running.duration.total_seconds() >= 10 * 60


def test_an_error_answer_carries_its_problem_details(world):
    with world.client() as client:
        with pytest.raises(NotFoundError) as missing:
            list(client.v3.jobs(world.stranger))  # another partner's customer
        with pytest.raises(NotFoundError) as modern_missing:
            client.modern.customer(world.stranger)
        with pytest.raises(BadRequestError) as bad_module:
            list(client.v3.jobs(world.alpha, job_module=999))
        with pytest.raises(BadRequestError) as bad_name:
            client.modern.service(world.alpha, "Microsoft 365", "No Such Module")
    assert missing.value.status == 404
    assert missing.value.title == "Not Found"
    assert missing.value.type == "about:blank"
    assert world.stranger in missing.value.detail
    assert missing.value.instance.endswith("/avpt-products/jobs/batch")
    assert world.stranger in modern_missing.value.detail
    assert bad_module.value.status == 400 and "999" in bad_module.value.detail
    assert "No Such Module" in bad_name.value.detail
    assert "404 Not Found" in str(missing.value)


def test_scope_and_permissions_are_the_apps(world):
    with world.client(world.v3_only) as client:
        assert len(list(client.v3.jobs(world.alpha))) == 7
        with pytest.raises(PermissionDeniedError) as denied:
            list(client.modern.customers())
    assert denied.value.status == 403
    assert denied.value.challenge["error"] == "insufficient_scope"
    assert denied.value.challenge["scope"] == "partner.customers.read.all"
    assert "partner.customers.read.all" in denied.value.detail

    with world.client(world.alpha_only) as client:
        assert [c.name for c in client.v3.customers()] == ["Alpha"]
        with pytest.raises(NotFoundError):
            list(client.modern.jobs(world.bravo))

    # A token asked for fewer permissions than the app has.
    with world.client(scope=["elements.jobs.read.all"]) as client:
        assert client.authenticate().scope == "elements.jobs.read.all"
        with pytest.raises(PermissionDeniedError):
            list(client.v3.customers())


def test_token_endpoint_errors_are_oauth_errors(world):
    with (
        Client(world.url, ClientSecret(world.reader.client_id, "bjs_wrong")) as client,
        pytest.raises(OAuthError) as wrong,
    ):
        list(client.v3.customers())
    assert wrong.value.status == 401
    assert wrong.value.error == "invalid_client"
    assert "secret" in wrong.value.error_description
    assert "bjs_wrong" not in str(wrong.value)

    with world.client(scope="no.such.permission") as client, pytest.raises(OAuthError) as scope:
        client.authenticate()
    assert scope.value.error == "invalid_scope"
    assert "no.such.permission" in scope.value.error_description


def test_a_secret_in_http_basic_works_too(world):
    recorder = Recorder()
    credential = ClientSecret(world.reader.client_id, world.reader.secret, basic=True)
    with Client(world.url, credential, http_client=recorder.sync_client()) as client:
        assert len(list(client.v3.customers())) == 3
    token_request = recorder.requests[0]
    assert token_request.headers["authorization"].startswith("Basic ")
    assert b"client_secret" not in token_request.content


def test_the_token_url_can_be_on_another_host(world):
    recorder = Recorder()
    port = world.url.rsplit(":", 1)[1]
    with world.client(
        token_url=f"http://localhost:{port}/connect/token", http_client=recorder.sync_client()
    ) as client:
        assert len(list(client.v3.customers())) == 3
    assert [r.url.host for r in recorder.requests] == ["localhost", "127.0.0.1"]


def test_the_token_is_kept_then_renewed_once_when_refused(world):
    recorder = Recorder()
    with world.client(http_client=recorder.sync_client()) as client:
        list(client.v3.customers())
        list(client.v3.customers())
        assert recorder.token_requests() == 1
        # The service no longer takes the cached token (its keys were restored from a
        # backup, say): one 401, one new token, one more try, and the call succeeds.
        client.tokens.store(AccessToken("eyJhbGciOiJub25lIn0.e30.", 3600, None, time.monotonic()))
        assert len(list(client.modern.customers())) == 3
    assert recorder.token_requests() == 2
    assert [r.status_code for r in recorder.responses].count(401) == 1


def test_certificate_sign_in_signs_its_own_assertion(world, tmp_path):
    app = world.new_app("partner.customers.read.all")
    key = private_key("rsa", 60)
    (tmp_path / "partner.key").write_bytes(private_key_pem(key))
    (tmp_path / "partner.pem").write_bytes(certificate_pem(key))
    registered = cli_json(
        world.env,
        "apps",
        "add-certificate",
        "--client-id",
        app.client_id,
        "--cert",
        str(tmp_path / "partner.pem"),
    )
    credential = ClientCertificate.from_files(
        app.client_id, tmp_path / "partner.key", tmp_path / "partner.pem"
    )
    assert credential.thumbprint == registered["thumbprint"]

    recorder = Recorder()
    with Client(world.url, credential, http_client=recorder.sync_client()) as client:
        assert [c.name for c in client.modern.customers()] == ["Alpha", "Bravo", "Charlie"]
        client.tokens.clear()
        client.authenticate()  # a second assertion: a new jti, accepted
    forms = [
        httpx.QueryParams(r.content.decode())
        for r in recorder.requests
        if r.url.path == "/connect/token"
    ]
    assert len(forms) == 2
    assertions = [form["client_assertion"] for form in forms]
    assert all("client_secret" not in form for form in forms)
    claims = [jwt.decode(a, options={"verify_signature": False}) for a in assertions]
    assert claims[0]["jti"] != claims[1]["jti"]
    assert claims[0]["aud"] == f"{world.url}/connect/token"
    assert jwt.get_unverified_header(assertions[0])["kid"] == registered["thumbprint"]

    # An EC P-256 key in one PEM file with its certificate signs ES256.
    ec_key = private_key("ec", 61)
    combined = tmp_path / "ec.pem"
    combined.write_bytes(private_key_pem(ec_key) + certificate_pem(ec_key))
    cli_json(
        world.env, "apps", "add-certificate", "--client-id", app.client_id, "--cert", str(combined)
    )
    ec_credential = ClientCertificate.from_files(app.client_id, combined)
    assert ec_credential.algorithm == "ES256"
    with Client(world.url, ec_credential) as client:
        assert client.authenticate().scope == "partner.customers.read.all"

    # A key whose certificate is not registered is refused, and the service says why.
    stranger_key = private_key("rsa", 62)
    unregistered = ClientCertificate(
        app.client_id, private_key_pem(stranger_key), certificate_pem(stranger_key)
    )
    with Client(world.url, unregistered) as client, pytest.raises(OAuthError) as refused:
        client.authenticate()
    assert refused.value.error == "invalid_client"
    assert "not signed by a registered" in refused.value.error_description

    # The audience is the token URL the client was given: another one is refused.
    port = world.url.rsplit(":", 1)[1]
    elsewhere = f"http://localhost:{port}/connect/token"
    with (
        Client(world.url, credential, token_url=elsewhere) as client,
        pytest.raises(OAuthError) as audience,
    ):
        client.authenticate()
    assert "aud must be" in audience.value.error_description


def test_any_other_endpoint_through_request(world):
    with world.client() as client:
        answer = client.request("GET", "/partner/customers", params={"$top": 1})
        assert answer.json()["value"][0]["customerName"] == "Alpha"
        with pytest.raises(NotFoundError):
            client.request("GET", "/partner/customers/" + world.stranger)


def test_no_answer_at_all_is_unreachable_after_the_retries():
    closed = f"http://127.0.0.1:{free_port()}"
    retry = Retry(attempts=2, backoff=0.01)
    with (
        Client(closed, ClientSecret("id", "secret"), retry=retry) as client,
        pytest.raises(UnreachableError, match="tried 2 times"),
    ):
        client.authenticate()


def test_records_are_values(world):
    with world.client() as client:
        first = next(iter(client.v3.jobs(world.alpha)))
    assert dataclasses.replace(first) == first
    assert hash(first.job_type) == hash(Coded(7, "Microsoft 365"))
    assert str(first.status) == "Failed"
    assert first.service == (7, 302)


async def test_concurrent_calls_share_one_token(world):
    recorder = Recorder()
    async with world.async_client(http_client=recorder.async_client()) as client:

        async def jobs_of(customer):
            return [job async for job in client.v3.jobs(customer)]

        answers = await asyncio.gather(*(jobs_of(c) for c in [world.alpha, world.bravo] * 4))
    assert [len(found) for found in answers] == [7, 2] * 4
    assert recorder.token_requests() == 1


def test_threads_sharing_a_client_share_one_token(world):
    recorder = Recorder()
    with (
        world.client(http_client=recorder.sync_client()) as client,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        answers = list(pool.map(lambda _: len(list(client.v3.customers())), range(16)))
    assert answers == [3] * 16
    assert recorder.token_requests() == 1
