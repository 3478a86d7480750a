"""``backupjobs users``: dashboard users made, listed, disabled and given new passwords."""

import json
import uuid

from typer.testing import CliRunner

from backupjobs.cli import app

runner = CliRunner()


def run(env, *args):
    return runner.invoke(app, list(args), env=env)


def out(env, *args):
    done = run(env, *args, "--json")
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


def test_a_user_is_created_with_a_one_time_password_printed_once(tmp_path):
    env = {"BACKUPJOBS_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}"}
    partner = out(env, "partners", "create", "--name", "Acme MSP")["id"]

    made = out(env, "users", "create", "--partner", partner, "--email", " Ops@Acme.Example ")
    assert set(made) == {"id", "email", "role", "password"}
    assert made["email"] == "ops@acme.example"
    assert made["role"] == "viewer"
    assert len(made["password"]) >= 20
    admin = out(
        env, "users", "create", "--partner", partner, "--email", "boss@acme.example",
        "--role", "admin",
    )  # fmt: skip
    assert admin["role"] == "admin"

    listed = out(env, "users", "list", "--partner", partner)["users"]
    assert [(u["email"], u["role"], u["disabled"], u["mustChangePassword"]) for u in listed] == [
        ("boss@acme.example", "admin", False, True),
        ("ops@acme.example", "viewer", False, True),
    ]
    # The password is shown by create and reset-password only.
    assert made["password"] not in run(env, "users", "list", "--partner", partner).stdout

    reset = out(env, "users", "reset-password", "--partner", partner, "--email", "ops@acme.example")
    assert reset["id"] == made["id"]
    assert reset["password"] != made["password"]

    disabled = out(env, "users", "disable", "--partner", partner, "--email", "ops@acme.example")
    assert disabled == {"id": made["id"], "email": "ops@acme.example", "disabled": True}
    listed = out(env, "users", "list", "--partner", partner)["users"]
    assert [u["disabled"] for u in listed] == [False, True]


def test_bad_input_is_named(tmp_path):
    env = {"BACKUPJOBS_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}"}
    partner = out(env, "partners", "create", "--name", "Acme MSP")["id"]
    out(env, "users", "create", "--partner", partner, "--email", "ops@acme.example")
    other = out(env, "partners", "create", "--name", "Other MSP")["id"]

    cases = [
        (("--partner", partner, "--email", "ops@acme.example"), "exists already"),
        (("--partner", partner, "--email", "not-an-address"), "not an email address"),
        (
            ("--partner", partner, "--email", "x@acme.example", "--role", "boss"),
            "use viewer or admin",
        ),
        (("--partner", str(uuid.uuid4()), "--email", "y@acme.example"), "no partner"),
        (("--partner", "nope", "--email", "y@acme.example"), "--partner must be a UUID"),
    ]
    for args, said in cases:
        done = run(env, "users", "create", *args)
        assert done.exit_code != 0, args
        assert said in done.stderr, (args, done.stderr)

    # Another partner's user is unknown to commands naming this partner.
    for command in ("disable", "reset-password"):
        done = run(env, "users", command, "--partner", other, "--email", "ops@acme.example")
        assert done.exit_code == 1
        assert "has no dashboard user ops@acme.example" in done.stderr
