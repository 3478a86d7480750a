"""Operator commands for credentials and keys (SPEC section 11), run as a user would."""

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.auth.credentials import (
    assertion,
    assertion_form,
    certificate_pem,
    private_key,
    private_key_pem,
)
from tests.processes import cli, cli_json, environment, running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path):
    return environment(f"sqlite:///{tmp_path / 'credentials.db'}")


@pytest.fixture
def app(env):
    partner = cli_json(env, "partners", "create", "--name", "Acme MSP")["id"]
    return cli_json(
        env,
        "apps",
        "create",
        "--partner",
        partner,
        "--name",
        "PSA",
        "--permission",
        "elements.jobs.read.all",
    )


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_add_certificate_prints_the_thumbprint_of_the_certificate(env, app, tmp_path):
    pem = certificate_pem(private_key("rsa"), name="Acme PSA")
    added = cli_json(
        env,
        "apps",
        "add-certificate",
        "--client-id",
        app["clientId"],
        "--cert",
        write(tmp_path, "c.pem", pem),
    )
    expected = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA1()).hex().upper()
    assert added["thumbprint"] == expected
    assert added["keyType"] == "RSA 2048" and added["algorithms"] == ["RS256", "PS256"]
    assert added["subject"] == "CN=Acme PSA"
    shown = cli_json(env, "apps", "show", "--client-id", app["clientId"])
    assert [c["thumbprint"] for c in shown["certificates"]] == [expected]
    assert shown["certificates"][0]["lastUsedAt"] is None


def test_certificate_errors_exit_nonzero_with_a_message(env, app, tmp_path):
    client_id = app["clientId"]
    good = write(tmp_path, "good.pem", certificate_pem(private_key("ec")))
    cases = [
        (
            "--client-id",
            client_id,
            "--cert",
            write(tmp_path, "key.pem", private_key_pem(private_key("rsa"))),
        ),
        (
            "--client-id",
            client_id,
            "--cert",
            write(tmp_path, "small.pem", certificate_pem(private_key("rsa1024"))),
        ),
        ("--client-id", client_id, "--cert", str(tmp_path / "missing.pem")),
        ("--client-id", "no-such-app", "--cert", good),
    ]
    for args in cases:
        done = cli(env, "apps", "add-certificate", *args, "--json")
        assert done.returncode != 0, args
        assert done.stdout == "" and "error" in done.stderr.lower(), (args, done.stderr)
        assert "Traceback" not in done.stderr
    cli_json(env, "apps", "add-certificate", "--client-id", client_id, "--cert", good)
    twice = cli(env, "apps", "add-certificate", "--client-id", client_id, "--cert", good, "--json")
    assert twice.returncode == 1 and "already registered" in twice.stderr


def test_warnings_for_an_expired_certificate_and_a_bundled_private_key(env, app, tmp_path):
    key = private_key("rsa", 1)
    past = datetime.now(UTC) - timedelta(days=2)
    expired = certificate_pem(key, not_before=past - timedelta(days=30), not_after=past)
    done = cli(
        env,
        "apps",
        "add-certificate",
        "--client-id",
        app["clientId"],
        "--cert",
        write(tmp_path, "bundle.pem", expired + private_key_pem(key)),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["thumbprint"]
    assert "expired" in done.stderr and "private key" in done.stderr


def test_secret_rollover_and_listing_never_show_a_secret(env, app, tmp_path):
    client_id = app["clientId"]
    added = cli_json(env, "apps", "add-secret", "--client-id", client_id, "--years", "3")
    assert added["clientSecret"].startswith("bjs_") and added["secretId"]
    assert added["expiresAt"].startswith(str(datetime.now(UTC).year + 3))
    for years in ("0", "4", "two"):
        done = cli(env, "apps", "add-secret", "--client-id", client_id, "--years", years, "--json")
        assert done.returncode == 2 and done.stdout == ""

    with running_server(env, tmp_path / "server.log") as server:
        for secret in (app["clientSecret"], added["clientSecret"]):
            assert token_status(server, client_id, secret) == 200
        listed = cli(env, "apps", "list", "--json")
        shown = cli(env, "apps", "show", "--client-id", client_id, "--json")
        text = cli(env, "apps", "show", "--client-id", client_id)
        for done in (listed, shown, text):
            assert done.returncode == 0, done.stderr
            assert app["clientSecret"] not in done.stdout
            assert added["clientSecret"] not in done.stdout
        secrets = json.loads(shown.stdout)["secrets"]
        assert [s["id"] for s in secrets] == [app["secretId"], added["secretId"]]
        assert all(s["lastUsedAt"] for s in secrets)
        assert app["secretId"] in text.stdout and added["secretId"] in text.stdout
        assert [a["clientId"] for a in json.loads(listed.stdout)["apps"]] == [client_id]

        removed = cli_json(
            env, "apps", "remove-secret", "--client-id", client_id, "--secret-id", app["secretId"],
            "--yes",
        )  # fmt: skip
        assert removed["removed"] is True
        assert token_status(server, client_id, app["clientSecret"]) == 401
        assert token_status(server, client_id, added["clientSecret"]) == 200
    again = cli(
        env, "apps", "remove-secret", "--client-id", client_id, "--secret-id", app["secretId"],
        "--yes",
    )  # fmt: skip
    assert again.returncode == 1 and "no secret" in again.stderr


def token_status(server, client_id, secret):
    return httpx.post(
        f"{server.url}/connect/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    ).status_code


def test_certificate_sign_in_end_to_end_and_removal(env, app, tmp_path):
    client_id = app["clientId"]
    key = private_key("ec", 2)
    added = cli_json(
        env,
        "apps",
        "add-certificate",
        "--client-id",
        client_id,
        "--cert",
        write(tmp_path, "ec.pem", certificate_pem(key)),
    )
    with running_server(env, tmp_path / "server.log") as server:
        audience = f"{server.url}/connect/token"
        signed = assertion(key, client_id, audience, algorithm="ES256")
        response = httpx.post(audience, data=assertion_form(signed))
        assert response.status_code == 200, response.text
        shown = cli_json(env, "apps", "show", "--client-id", client_id)
        assert shown["certificates"][0]["lastUsedAt"]
        cli_json(
            env,
            "apps",
            "remove-certificate",
            "--client-id",
            client_id,
            "--thumbprint",
            added["thumbprint"].lower(),
            "--yes",
        )
        again = assertion(key, client_id, audience, algorithm="ES256")
        assert httpx.post(audience, data=assertion_form(again)).status_code == 401
    assert cli_json(env, "apps", "show", "--client-id", client_id)["certificates"] == []


def test_apps_list_by_partner_and_show_errors(env, app):
    other = cli_json(env, "partners", "create", "--name", "Other MSP")["id"]
    assert cli_json(env, "apps", "list", "--partner", other) == {"apps": []}
    done = cli(env, "apps", "show", "--client-id", "no-such-app", "--json")
    assert done.returncode == 1 and "no app" in done.stderr


def test_keys_rotate_and_list(env):
    first = cli_json(env, "keys", "rotate")  # no key yet: signs at once
    assert first["retiring"] == []
    second = cli_json(env, "keys", "rotate", "--grace", "120")
    assert [k["kid"] for k in second["retiring"]] == [first["kid"]]
    listed = cli_json(env, "keys", "list")["keys"]
    assert [(k["kid"], k["state"]) for k in listed] == [
        (second["kid"], "next"),
        (first["kid"], "signing"),
    ]
    signs_from = datetime.fromisoformat(second["signsFrom"])
    retiring = second["retiring"][0]
    assert datetime.fromisoformat(retiring["retiredAt"]) == signs_from
    # Verifies for a token lifetime (3600 s), a key reload and the clock skew past that.
    verifies_until = datetime.fromisoformat(retiring["verifiesUntil"])
    assert verifies_until - signs_from == timedelta(seconds=3600 + 10 + 60)
    assert "private" not in json.dumps(listed).lower()
    done = cli(env, "keys", "rotate", "--grace", "-1", "--json")
    assert done.returncode == 2
