"""The operator command line of SPEC section 11, run as a user would."""

import asyncio
import json
import uuid

import httpx
import pytest

from backupjobs.settings import Settings
from tests.processes import cli, cli_json, environment, running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path):
    return environment(f"sqlite:///{tmp_path / 'ops.db'}")


def test_create_commands_print_one_json_object(env):
    partner = cli_json(env, "partners", "create", "--name", "Acme MSP")
    uuid.UUID(partner["id"])
    customer = cli_json(env, "customers", "create", "--partner", partner["id"], "--name", "Contoso")
    uuid.UUID(customer["id"])
    chosen = str(uuid.uuid4())
    assert (
        cli_json(
            env,
            "customers",
            "create",
            "--partner",
            partner["id"],
            "--name",
            "Fabrikam",
            "--id",
            chosen,
        )["id"]
        == chosen
    )
    app = cli_json(
        env,
        "apps",
        "create",
        "--partner",
        partner["id"],
        "--name",
        "PSA",
        "--permission",
        "elements.jobs.read.all",
    )
    assert app["clientId"] and app["clientSecret"].startswith("bjs_")
    assert len(app["clientSecret"]) >= 43  # 256 random bits, base64url


def test_default_database_is_a_sqlite_file_in_the_working_folder(tmp_path):
    env = environment("")
    del env["BACKUPJOBS_DATABASE_URL"]
    done = cli(env, "partners", "create", "--name", "Here", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "backupjobs.db").exists()
    assert Settings.from_env({}).database_url == "sqlite:///backupjobs.db"


def test_operator_errors_exit_nonzero_with_a_message(env):
    partner = cli_json(env, "partners", "create", "--name", "Acme")["id"]
    missing = str(uuid.uuid4())
    cases = [
        ("customers", "create", "--partner", missing, "--name", "X"),
        ("customers", "create", "--partner", "not-a-uuid", "--name", "X"),
        ("services", "enable", "--customer", missing, "--job-type", "7", "--job-module", "302"),
        (
            "apps",
            "create",
            "--partner",
            partner,
            "--name",
            "A",
            "--permission",
            "no.such.permission",
        ),
        (
            "apps",
            "create",
            "--partner",
            partner,
            "--name",
            "A",
            "--permission",
            "elements.jobs.read.all",
            "--customer",
            missing,
        ),
        ("partners", "create", "--name", "   "),
    ]
    for args in cases:
        done = cli(env, *args, "--json")
        assert done.returncode != 0, args
        assert done.stdout == "", args
        assert "error" in done.stderr.lower() or "invalid" in done.stderr.lower(), (
            args,
            done.stderr,
        )
        assert "Traceback" not in done.stderr


def test_duplicate_customer_id_is_refused(env):
    partner = cli_json(env, "partners", "create", "--name", "Acme")["id"]
    chosen = str(uuid.uuid4())
    cli_json(env, "customers", "create", "--partner", partner, "--name", "One", "--id", chosen)
    done = cli(
        env, "customers", "create", "--partner", partner, "--name", "Two", "--id", chosen, "--json"
    )
    assert done.returncode == 1 and "already exists" in done.stderr


def test_db_upgrade_is_idempotent(env):
    for _ in range(2):
        done = cli(env, "db", "upgrade")
        assert done.returncode == 0, done.stderr


def test_end_to_end_scoped_app_over_http(env, tmp_path):
    partner = cli_json(env, "partners", "create", "--name", "Acme")["id"]
    first = cli_json(env, "customers", "create", "--partner", partner, "--name", "First")["id"]
    second = cli_json(env, "customers", "create", "--partner", partner, "--name", "Second")["id"]
    for customer in (first, second):
        done = cli(
            env,
            "services",
            "enable",
            "--customer",
            customer,
            "--job-type",
            "Microsoft 365",
            "--job-module",
            "sharepoint online",
        )
        assert done.returncode == 0, done.stderr
    app = cli_json(
        env,
        "apps",
        "create",
        "--partner",
        partner,
        "--name",
        "scoped",
        "--permission",
        "elements.jobs.read.all",
        "--customer",
        first,
    )
    with running_server(env, tmp_path / "server.log") as server:
        token = httpx.post(
            f"{server.url}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app["clientId"],
                "client_secret": app["clientSecret"],
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        base = f"{server.url}/partner/external/v3/general/customers"
        page = httpx.post(f"{base}/{first}/jobs", headers=headers).json()
        assert page["data"][0]["jobModule"] == 302 and page["data"][0]["status"] == 0
        assert httpx.post(f"{base}/{second}/jobs", headers=headers).status_code == 404


def test_serve_with_two_workers(env, tmp_path):
    with running_server(env, tmp_path / "server.log", "--workers", "2") as server:
        answers = asyncio.run(_many_gets(f"{server.url}/healthz", 20))
        assert answers == {200}
        metrics = httpx.get(f"{server.url}/metrics").text
        assert "backupjobs_http_requests_total" in metrics


async def _many_gets(url: str, count: int) -> set[int]:
    async with httpx.AsyncClient() as http:
        responses = await asyncio.gather(*(http.get(url) for _ in range(count)))
    return {r.status_code for r in responses}


def test_json_output_is_parseable_by_scripts(env):
    done = cli(env, "partners", "create", "--name", 'Quote "and" Slash \\', "--json")
    assert json.loads(done.stdout)["name"] == 'Quote "and" Slash \\'
