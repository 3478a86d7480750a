"""``backupjobs sync``: add, list, show, remove, status; bad input named clearly. (Runs
against a real upstream: tests/sync.)"""

import json

import pytest
from typer.testing import CliRunner

from backupjobs.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path):
    return {"BACKUPJOBS_DATABASE_URL": f"sqlite:///{tmp_path / 'sync.db'}"}


def run(env, *args):
    return runner.invoke(app, list(args), env=env)


def run_json(env, *args):
    done = run(env, *args, "--json")
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


@pytest.fixture
def partner(env):
    return run_json(env, "partners", "create", "--name", "Mirror MSP")["id"]


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret"
    path.write_text("s3cr3t-value\n")
    return path


def add_args(partner, secret_file, *extra, name="vendor"):
    return [
        "sync", "add", "--partner", partner, "--name", name,
        "--base-url", "https://api.vendor.example", "--token-url",
        "https://login.vendor.example/connect/token", "--client-id", "abc",
        "--secret-file", str(secret_file), *extra,
    ]  # fmt: skip


def test_add_list_show_status_remove(env, partner, secret_file, tmp_path):
    added = run_json(env, *add_args(partner, secret_file, "--interval", "1h30m"))
    assert added["intervalSeconds"] == 5400 and added["interval"] == "1h30m"
    assert added["secretFile"] == str(secret_file.resolve())
    assert "s3cr3t" not in json.dumps(added)

    (listed,) = run_json(env, "sync", "list")["upstreams"]
    assert (listed["name"], listed["partnerId"], listed["baseUrl"]) == (
        "vendor",
        partner,
        "https://api.vendor.example",
    )
    shown = run_json(env, "sync", "show", "vendor")
    assert (shown["runs"], shown["goneCustomers"], shown["lastRunErrors"]) == ([], [], [])
    (status,) = run_json(env, "sync", "status")["upstreams"]
    assert (status["name"], status["lastRun"], status["runningIn"]) == ("vendor", None, None)

    # The same name for another partner is fine; then the name alone is ambiguous.
    other = run_json(env, "partners", "create", "--name", "Other MSP")["id"]
    run_json(env, *add_args(other, secret_file))
    ambiguous = run(env, "sync", "show", "vendor")
    assert ambiguous.exit_code == 1 and "give --partner" in ambiguous.stderr
    assert run_json(env, "sync", "show", "vendor", "--partner", other)["partnerId"] == other

    removed = run_json(env, "sync", "remove", "vendor", "--partner", partner)
    assert removed == {"partnerId": partner, "name": "vendor", "runs": 0}
    assert [u["partnerId"] for u in run_json(env, "sync", "list")["upstreams"]] == [other]
    missing = run(env, "sync", "show", "nothing")
    assert missing.exit_code == 1 and "no upstream named 'nothing'" in missing.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--base-url": "ftp://x"}, "--base-url must be an http(s) URL, not 'ftp://x'"),
        ({"--token-url": "nope"}, "--token-url must be an http(s) URL"),
        ({"--interval": "5s"}, "--interval must be a duration of at least 10s"),
        ({"--interval": "soon"}, "such as 15m, 1h or PT15M, not 'soon'"),
        ({"--secret-file": "/no/such/file"}, "--secret-file: no file '/no/such/file'"),
        ({"--name": " "}, "--name: an upstream name is 1 to 100 characters"),
        ({"--client-id": " "}, "--client-id must not be blank"),
        ({"--partner": "not-a-uuid"}, "--partner must be a UUID, not 'not-a-uuid'"),
    ],
)
def test_add_names_what_is_wrong(env, partner, secret_file, change, message):
    args = add_args(partner, secret_file, "--interval", "15m")
    for option, value in change.items():
        args[args.index(option) + 1] = value
    done = run(env, *args)
    assert done.exit_code == 2, done.stdout
    assert message in done.stderr


def test_add_wants_one_credential_and_an_existing_partner(env, partner, secret_file, tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    both = run(env, *add_args(partner, secret_file, "--cert", str(cert), "--key", str(cert)))
    assert both.exit_code == 2 and "either --secret-file, or --cert and --key" in both.stderr
    base = add_args(partner, secret_file)
    at = base.index("--secret-file")
    no_credential = base[:at] + base[at + 2 :]
    assert "either --secret-file" in run(env, *no_credential).stderr
    half = run(env, *no_credential, "--cert", str(cert))
    assert half.exit_code == 2 and "--cert and --key go together" in half.stderr

    unknown = "00000000-0000-4000-8000-000000000000"
    done = run(env, *add_args(unknown, secret_file))
    assert done.exit_code == 1 and f"no partner {unknown}" in done.stderr
    run_json(env, *add_args(partner, secret_file))
    again = run(env, *add_args(partner, secret_file))
    assert again.exit_code == 1 and "already has an upstream named 'vendor'" in again.stderr


def test_run_with_no_upstreams_and_an_unknown_one(env, partner):
    assert run_json(env, "sync", "run", "--once") == {"runs": []}
    done = run(env, "sync", "run", "--once", "--upstream", "ghost")
    assert done.exit_code == 1 and "no upstream named 'ghost'" in done.stderr
