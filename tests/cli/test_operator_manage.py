"""The operator command line beyond create: list, rename, update, disable, delete; every
command with --json, every removal asked for unless --yes and said, every missing object
named."""

import json
import uuid

import pytest
import typer.main
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from typer.testing import CliRunner

from backupjobs.cli import app
from backupjobs.cli.operator import GROUPS
from backupjobs.store.migrations import alembic_config

runner = CliRunner()


@pytest.fixture
def env(tmp_path):
    return {"BACKUPJOBS_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}"}


class Done:
    """What a command wrote; an answer typed at a prompt is not part of its output (the
    test runner echoes it on stdout, as a terminal would show it)."""

    def __init__(self, result, answer):
        self.exit_code = result.exit_code
        self.stdout = result.stdout.removeprefix(f" {answer}" if answer else "")
        self.stderr = result.stderr


def run(env, *args, input=None):
    return Done(runner.invoke(app, list(args), env=env, input=input), input)


def out(env, *args, input=None):
    """One JSON object on stdout, whatever was asked on stderr."""
    done = run(env, *args, "--json", input=input)
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


def failed(done, code=1):
    assert done.exit_code == code, (done.stdout, done.stderr)
    assert done.stdout.strip() == "" and "Traceback" not in done.stderr
    return " ".join(done.stderr.split())


@pytest.fixture
def partner(env):
    """A partner with customers Contoso (two services, one job each way) and Fabrikam."""
    partner_id = out(env, "partners", "create", "--name", "Acme MSP")["id"]
    contoso = out(env, "customers", "create", "--partner", partner_id, "--name", "Contoso")["id"]
    fabrikam = out(env, "customers", "create", "--partner", partner_id, "--name", "Fabrikam")["id"]
    for module in ("302", "OneDrive"):
        run(env, "services", "enable", "--customer", contoso, "--job-type", "7",
            "--job-module", module)  # fmt: skip
    return {"id": partner_id, "contoso": contoso, "fabrikam": fabrikam}


def test_every_operator_command_prints_json_when_asked():
    root = typer.main.get_command(app)
    for name, _ in GROUPS:
        for command_name, found in root.commands[name].commands.items():
            assert "as_json" in [p.name for p in found.params], f"{name} {command_name}"


def test_partners_are_listed_and_renamed(env, partner):
    listed = out(env, "partners", "list")["partners"]
    assert [(p["id"], p["name"], p["customers"], p["apps"]) for p in listed] == [
        (partner["id"], "Acme MSP", 2, 0)
    ]
    renamed = out(env, "partners", "rename", "--id", partner["id"], "--name", " Acme Ltd ")
    assert renamed == {"id": partner["id"], "name": "Acme Ltd", "previousName": "Acme MSP"}
    text = run(env, "partners", "list")
    assert "Acme Ltd" in text.stdout and partner["id"] in text.stdout
    missing = str(uuid.uuid4())
    said = failed(run(env, "partners", "rename", "--id", missing, "--name", "X"))
    assert said == f"error: no partner {missing}"


def test_customers_are_listed_and_updated(env, partner):
    listed = out(env, "customers", "list", "--partner", partner["id"])["customers"]
    assert [(c["name"], c["services"], c["disabledServices"]) for c in listed] == [
        ("Contoso", 2, 0),
        ("Fabrikam", 0, 0),
    ]
    updated = out(env, "customers", "update", "--id", partner["fabrikam"], "--name", "Fabrikam Inc")
    assert updated["name"] == "Fabrikam Inc"
    assert updated["changed"] == {"name": {"from": "Fabrikam", "to": "Fabrikam Inc"}}
    text = run(env, "customers", "update", "--id", partner["fabrikam"], "--name", "Fabrikam Inc")
    assert "unchanged" in text.stdout
    assert "nothing to change: give --name" in failed(
        run(env, "customers", "update", "--id", partner["fabrikam"]), 2
    )
    missing = str(uuid.uuid4())
    assert failed(run(env, "customers", "update", "--id", missing, "--name", "X")) == (
        f"error: no customer {missing}"
    )
    assert failed(run(env, "customers", "list", "--partner", missing)) == (
        f"error: no partner {missing}"
    )


def test_services_are_listed_disabled_and_enabled_again(env, partner):
    contoso = partner["contoso"]
    disabled = out(env, "services", "disable", "--customer", contoso, "--job-type",
                   "Microsoft 365", "--job-module", "sharepoint online")  # fmt: skip
    assert disabled == {
        "customerId": contoso,
        "jobType": 7,
        "jobModule": 302,
        "changed": True,
        "enabled": False,
    }
    listed = out(env, "services", "list", "--customer", contoso)["services"]
    assert [(s["jobModuleName"], s["enabled"], s["latestJob"]) for s in listed] == [
        ("SharePoint Online", False, None),
        ("OneDrive", True, None),
    ]
    assert listed[0]["disabledAt"] and listed[1]["disabledAt"] is None
    again = out(env, "services", "enable", "--customer", contoso, "--job-type", "7",
                "--job-module", "302")  # fmt: skip
    assert (again["created"], again["changed"]) == (False, True)
    text = run(env, "services", "list")
    assert text.stdout.count("enabled") == 2 and "never run" in text.stdout
    said = failed(run(env, "services", "disable", "--customer", contoso, "--job-type", "7",
                      "--job-module", "303"))  # fmt: skip
    assert said == (
        f"error: customer {contoso} has no backup service jobType 7 (Microsoft 365), "
        "jobModule 303 (Exchange Online)"
    )
    said = failed(run(env, "services", "disable", "--customer", contoso, "--job-type", "7",
                      "--job-module", "Sharepoint"), 2)  # fmt: skip
    assert 'did you mean "SharePoint Online"?' in said


def test_a_customer_is_deleted_only_when_confirmed_and_says_what_went(env, partner):
    contoso = partner["contoso"]
    scoped = out(env, "apps", "create", "--partner", partner["id"], "--name", "Contoso only",
                 "--permission", "elements.jobs.read.all", "--customer", contoso)  # fmt: skip
    refused = run(env, "customers", "delete", "--id", contoso, input="n\n")
    assert "Remove customer 'Contoso'" in refused.stderr
    assert "with 2 backup services, 0 jobs of history and 1 app scope entry?" in refused.stderr
    assert "nothing was removed (answer y, or give --yes)" in failed(refused)
    assert "nothing was removed" in failed(run(env, "customers", "delete", "--id", contoso))
    assert len(out(env, "customers", "list")["customers"]) == 2

    removed = out(env, "customers", "delete", "--id", contoso, input="y\n")
    assert removed["removed"] == {"customers": 1, "services": 2, "jobs": 0, "appScopeEntries": 1}
    assert removed["appsWithoutCustomers"] == [scoped["clientId"]]
    assert [c["name"] for c in out(env, "customers", "list")["customers"]] == ["Fabrikam"]
    assert out(env, "apps", "show", "--client-id", scoped["clientId"])["customers"] == []

    text = run(env, "customers", "delete", "--id", partner["fabrikam"], "--yes")
    assert text.exit_code == 0, text.stderr
    assert f"Removed customer 'Fabrikam' ({partner['fabrikam']}) with 0 backup services" in (
        " ".join(text.stdout.split())
    )
    assert failed(run(env, "customers", "delete", "--id", contoso, "--yes")) == (
        f"error: no customer {contoso}"
    )


def test_an_app_is_updated_and_its_help_says_when_changes_apply(env, partner):
    made = out(env, "apps", "create", "--partner", partner["id"], "--name", "PSA",
               "--permission", "elements.jobs.read.all")  # fmt: skip
    client_id = made["clientId"]
    scoped = out(env, "apps", "update", "--client-id", client_id, "--name", "PSA sync",
                 "--permission", "partner.jobs.read.all", "--permission",
                 "partner.customers.read.all", "--customer", partner["contoso"])  # fmt: skip
    assert scoped["name"] == "PSA sync"
    assert scoped["permissions"] == ["partner.customers.read.all", "partner.jobs.read.all"]
    assert scoped["customers"] == [partner["contoso"]]
    assert scoped["changed"] == ["name", "permissions", "customers"]
    everyone = out(env, "apps", "update", "--client-id", client_id, "--all-customers")
    assert (everyone["customers"], everyone["changed"]) == (None, ["customers"])
    text = run(env, "apps", "update", "--client-id", client_id, "--permission",
               "elements.jobs.read.all")  # fmt: skip
    assert "tokens the app holds keep their permissions until they expire" in text.stderr
    assert 'did you mean "elements.jobs.read.all"' in failed(
        run(env, "apps", "update", "--client-id", client_id, "--permission",
            "elements.job.read.all"), 2)  # fmt: skip
    assert "give one of them" in failed(
        run(env, "apps", "update", "--client-id", client_id, "--all-customers", "--customer",
            partner["contoso"]), 2)  # fmt: skip
    assert failed(run(env, "apps", "update", "--client-id", "nope", "--name", "X")) == (
        "error: no app with client id nope"
    )
    shown = " ".join(runner.invoke(app, ["apps", "update", "--help"],
                                   env={"COLUMNS": "1000"}).stdout.split())  # fmt: skip
    assert "those it holds keep theirs until they expire" in shown
    assert "A customer scope applies to the app's next request" in shown


def test_an_app_and_its_credentials_are_removed_only_when_confirmed(env, partner):
    made = out(env, "apps", "create", "--partner", partner["id"], "--name", "Old",
               "--permission", "elements.jobs.read.all")  # fmt: skip
    client_id = made["clientId"]
    second = out(env, "apps", "add-secret", "--client-id", client_id)
    refused = run(env, "apps", "remove-secret", "--client-id", client_id, "--secret-id",
                  second["secretId"], input="n\n")  # fmt: skip
    assert f"Remove secret {second['secretId']} of app 'Old'" in refused.stderr
    failed(refused)
    assert failed(run(env, "apps", "remove-secret", "--client-id", client_id, "--secret-id",
                      "nope")) == f"error: app {client_id} has no secret nope"  # fmt: skip
    assert failed(run(env, "apps", "remove-certificate", "--client-id", client_id,
                      "--thumbprint", "AB:CD")) == (
        f"error: app {client_id} has no certificate AB:CD"
    )  # fmt: skip
    removed = out(env, "apps", "remove-secret", "--client-id", client_id, "--secret-id",
                  second["secretId"], input="y\n")  # fmt: skip
    assert removed["removed"] is True
    assert len(out(env, "apps", "show", "--client-id", client_id)["secrets"]) == 1

    assert "nothing was removed" in failed(run(env, "apps", "delete", "--client-id", client_id))
    gone = out(env, "apps", "delete", "--client-id", client_id, "--yes")
    assert gone["removed"] == {
        "apps": 1,
        "secrets": 1,
        "certificates": 0,
        "customerScopeEntries": 0,
    }
    assert out(env, "apps", "list")["apps"] == []
    assert failed(run(env, "apps", "delete", "--client-id", client_id, "--yes")) == (
        f"error: no app with client id {client_id}"
    )


def test_db_upgrade_says_what_it_did(env, tmp_path):
    created = run(env, "db", "upgrade")
    assert created.exit_code == 0, created.stderr
    assert " ".join(created.stdout.split()).startswith("Created the schema in sqlite")
    current = out(env, "db", "upgrade")
    assert current["action"] == "current" and current["from"] == current["to"]
    assert "is up to date" in run(env, "db", "upgrade").stdout

    older = tmp_path / "older.db"
    engine = create_engine(f"sqlite:///{older}")
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0004_change_feed")
    engine.dispose()
    upgraded = out({"BACKUPJOBS_DATABASE_URL": f"sqlite:///{older}"}, "db", "upgrade")
    assert (upgraded["action"], upgraded["from"], upgraded["to"]) == (
        "upgraded",
        "0004_change_feed",
        ScriptDirectory.from_config(alembic_config()).get_current_head(),
    )
