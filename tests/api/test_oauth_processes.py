"""Two real API processes on one database: replayed assertions, key rotation, the audit log."""

import json
import time
from contextlib import ExitStack, contextmanager

import httpx
import jwt
import pytest

from tests.auth.credentials import assertion, assertion_form, certificate_pem, private_key
from tests.processes import Operator, cli_json, environment, running_server
from tests.services import create_postgres_database, drop_postgres_database

pytestmark = pytest.mark.slow

# Both processes sit behind one address, as behind a load balancer: one issuer, one audience.
PUBLIC_URL = "http://jobs.backupjobs.test"
AUDIENCE = f"{PUBLIC_URL}/connect/token"


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@contextmanager
def two_servers(env, tmp_path):
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                running_server(env, tmp_path / f"server-{name}.log", public_url=PUBLIC_URL)
            )
            for name in ("a", "b")
        ]


def token_request(server, data):
    return httpx.post(f"{server.url}/connect/token", data=data)


def secret_form(operator, secret=None):
    return {
        "grant_type": "client_credentials",
        "client_id": operator.client_id,
        "client_secret": secret or operator.client_secret,
    }


def audit_lines(*servers):
    """The audit log lines of the servers (JSON), in order per server."""
    lines = []
    for server in servers:
        for line in server.log.read_text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("event", "").startswith("token "):
                    lines.append(record)
    return lines


def test_a_replayed_assertion_is_refused_by_the_other_process_and_all_is_audited(
    shared_url, tmp_path
):
    # One token per client per process and window: the second from one process is refused.
    env = environment(
        shared_url, BACKUPJOBS_LOG_JSON="true", BACKUPJOBS_RATE_LIMIT_TOKEN_CLIENT="1"
    )
    operator = Operator.setup(env)
    key = private_key("rsa", 11)
    certificate_file = tmp_path / "partner.pem"
    certificate_file.write_bytes(certificate_pem(key))
    registered = cli_json(
        env,
        "apps",
        "add-certificate",
        "--client-id",
        operator.client_id,
        "--cert",
        str(certificate_file),
    )
    with two_servers(env, tmp_path) as (first, second):
        signed = assertion(key, operator.client_id, AUDIENCE)
        accepted = token_request(first, assertion_form(signed))
        assert accepted.status_code == 200, accepted.text
        replayed = token_request(second, assertion_form(signed))
        assert replayed.status_code == 401
        assert replayed.json()["error"] == "invalid_client"
        assert "already used" in replayed.json()["error_description"]
        # And the process that accepted it refuses it too.
        assert token_request(first, assertion_form(signed)).status_code == 401

        assert token_request(second, secret_form(operator)).status_code == 200
        assert token_request(second, secret_form(operator, "bjs_wrong")).status_code == 401
        limited = token_request(second, secret_form(operator))
        assert limited.status_code == 429
        token = accepted.json()["access_token"]
        # A token issued by one process works on the other.
        jobs = httpx.post(
            f"{second.url}/partner/external/v3/general/customers/{operator.customer_id}/jobs",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert jobs.status_code == 200
        logs = (first.log.read_text(), second.log.read_text())
        lines = audit_lines(first, second)

    # One line per token request: issued or refused, who, how, why, from where.
    assert [(line["event"], line.get("reason")) for line in lines] == [
        ("token issued", None),
        ("token refused", "invalid_client"),
        ("token refused", "invalid_client"),
        ("token issued", None),
        ("token refused", "invalid_client"),
        ("token refused", "rate_limited"),
    ]
    for line in lines:
        assert line["client_id"] == operator.client_id
        assert line["address"] == "127.0.0.1"
    assert lines[0]["method"] == "private_key_jwt"
    assert lines[0]["certificate"] == registered["thumbprint"]
    assert lines[3]["method"] == "client_secret_post"
    assert "already used" in lines[2]["detail"]
    assert "for this client" in lines[5]["detail"]
    # Never a secret nor an assertion (nor a piece of one).
    for log in logs:
        assert operator.client_secret not in log and "bjs_wrong" not in log
        assert signed not in log and signed.split(".")[2] not in log
        assert token not in log


def test_key_rotation_across_two_processes_without_breaking_tokens(tmp_path):
    url = create_postgres_database()
    try:
        env = environment(url)
        operator = Operator.setup(env)
        with two_servers(env, tmp_path) as servers:
            old_token = operator.token(servers[0].url)
            old_kid = jwt.get_unverified_header(old_token)["kid"]

            rotation = cli_json(env, "keys", "rotate", "--grace", "3")
            new_kid = rotation["kid"]
            assert [key["kid"] for key in rotation["retiring"]] == [old_kid]
            # The new key is published by every process at once; the old one still signs.
            for server in servers:
                published = [
                    k["kid"]
                    for k in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]
                ]
                assert published == [new_kid, old_kid]
                assert kid_of(operator.token(server.url)) == old_kid

            # After the grace period (and each process's next key reload), the new key signs.
            fresh = {server.url: wait_for_kid(operator, server, new_kid) for server in servers}
            for server in servers:
                for token in (old_token, *fresh.values()):
                    assert reads_jobs(server, operator, token), (server.url, kid_of(token))
                published = [
                    k["kid"]
                    for k in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]
                ]
                assert published == [new_kid, old_kid]  # until the old key's last token expires
        states = {key["kid"]: key["state"] for key in cli_json(env, "keys", "list")["keys"]}
        assert states == {new_kid: "signing", old_kid: "verifying"}
    finally:
        drop_postgres_database(url)


def kid_of(token):
    return jwt.get_unverified_header(token)["kid"]


def wait_for_kid(operator, server, kid, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        token = operator.token(server.url)
        if kid_of(token) == kid:
            return token
        assert time.monotonic() < deadline, f"{server.url} still signs with {kid_of(token)}"
        time.sleep(0.5)


def reads_jobs(server, operator, token):
    response = httpx.post(
        f"{server.url}/partner/external/v3/general/customers/{operator.customer_id}/jobs",
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code == 200
