"""``backupjobs client ...``, the partner command line, against a real server."""

import csv
import io
import json
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from typer.testing import CliRunner

from backupjobs.catalog import CUSTOMER_JOB_STATUSES
from backupjobs.cli import app
from backupjobs.cli.client import (
    Change,
    ChangePrinter,
    Format,
    attention_reasons,
    change_row,
    changes,
    snapshot,
)
from backupjobs.sdk import Coded, Customer
from tests.auth.credentials import certificate_pem, private_key, private_key_pem
from tests.processes import BACKUPJOBS, cli_json
from tests.sdk.partner import alpha_jobs, ingest, partner_world
from tests.world import job

pytestmark = pytest.mark.slow

runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with partner_world(tmp_path_factory.mktemp("cli")) as built:
        yield built


def credentials(world, app=None, **extra):
    """The environment a partner's script runs in: the API and the app's credentials."""
    chosen = app or world.reader
    return {
        "BACKUPJOBS_API_URL": world.url,
        "BACKUPJOBS_CLIENT_ID": chosen.client_id,
        "BACKUPJOBS_CLIENT_SECRET": chosen.secret,
        "BACKUPJOBS_PROFILE": None,
        "BACKUPJOBS_PROFILE_FILE": None,
        "XDG_CONFIG_HOME": "/nonexistent",
        **extra,
    }


def partner(env, *args):
    return runner.invoke(app, ["client", *args], env=env)


def json_of(result):
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def csv_of(result):
    assert result.exit_code == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


CUSTOMER_HEALTH = {code.display for code in CUSTOMER_JOB_STATUSES}


@pytest.mark.parametrize("api", ["v3", "modern"])
def test_customers_as_a_table_json_and_csv(world, api):
    env = credentials(world)
    listed = json_of(partner(env, "customers", "--api", api, "--format", "json"))
    assert [c["organization"] for c in listed] == ["Alpha", "Bravo", "Charlie"]
    assert [c["customerId"] for c in listed] == [world.alpha, world.bravo, world.charlie]
    assert all(c["jobStatus"] in CUSTOMER_HEALTH for c in listed)
    assert all(CUSTOMER_JOB_STATUSES.require(c["jobStatusCode"]).display == c["jobStatus"]
               for c in listed)  # fmt: skip
    as_csv = csv_of(partner(env, "customers", "--api", api, "-f", "csv"))
    assert [(c["organization"], c["jobStatus"]) for c in as_csv] == [
        (c["organization"], c["jobStatus"]) for c in listed
    ]
    table = partner(env, "customers", "--api", api)
    assert table.exit_code == 0, table.stderr
    assert "Health" in table.stdout
    for customer in listed:
        assert customer["organization"] in table.stdout and customer["jobStatus"] in table.stdout
    assert "3 rows" in table.stderr


def expected_rows(world, placeholder):
    return [
        {
            "customerId": j.customer_id,
            "jobType": j.job_type.name,
            "jobTypeCode": j.job_type.code,
            "jobModule": j.job_module.name,
            "jobModuleCode": j.job_module.code,
            "status": j.status.name,
            "statusCode": j.status.code,
            "jobId": j.job_id,
            "name": j.name,
            "totalCount": j.total_count,
            "failedCount": j.failed_count,
            "successfulCount": j.successful_count,
            "skippedCount": j.skipped_count,
            "warningCount": j.warning_count,
            "backupSizeBytes": j.backup_size,
            "startTime": j.start_time and j.start_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endTime": j.end_time and j.end_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "durationSeconds": None if j.duration is None else int(j.duration.total_seconds()),
            "lastModifyTime": j.last_modify_time
            and j.last_modify_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for j in alpha_jobs(world.alpha, placeholder_status=placeholder)
    ]


def test_a_customers_jobs_in_typed_json_and_csv_parsed_back(world):
    env = credentials(world)
    expected = expected_rows(world, "None")
    assert json_of(partner(env, "jobs", world.alpha, "-f", "json")) == expected
    # CSV: the same values, None as an empty field.
    parsed = csv_of(partner(env, "jobs", world.alpha, "-f", "csv"))
    assert parsed == [
        {key: "" if value is None else str(value) for key, value in row.items()} for row in expected
    ]
    assert parsed[0]["backupSizeBytes"] == str(3 * 1024**3 // 2)
    assert parsed[0]["durationSeconds"] == "7205"
    # The Modern API gives the same rows (its placeholder status has its own name).
    modern = json_of(partner(env, "jobs", world.alpha, "--api", "modern", "-f", "json"))
    assert modern == expected_rows(world, "Not Finished")


def test_jobs_filtered_by_type_and_module_names_or_codes(world):
    env = credentials(world)
    everything = json_of(partner(env, "jobs", world.alpha, "-f", "json"))
    for api in ("v3", "modern"):
        by_names = json_of(
            partner(
                env, "jobs", "alpha", "--api", api, "--type", "microsoft 365",
                "--module", "SharePoint Online", "-f", "json",
            )
        )  # fmt: skip
        by_codes = json_of(
            partner(env, "jobs", world.alpha, "--api", api, "--type", "7", "--module", "302",
                    "-f", "json")
        )  # fmt: skip
        assert [r["jobId"] for r in by_names] == [r["jobId"] for r in by_codes] == ["A-SP"]
        google = json_of(partner(env, "jobs", "Alpha", "--api", api, "--type", "11", "-f", "json"))
        assert [r["jobModule"] for r in google] == ["Gmail"]
    assert len(everything) == 7

    unknown = partner(env, "jobs", world.alpha, "--type", "Microsoft 366")
    assert unknown.exit_code == 2
    assert "unknown jobType 'Microsoft 366'" in unknown.stderr
    misspelled = partner(env, "jobs", world.alpha, "--module", "Sharepoint")
    assert misspelled.exit_code == 2
    assert (
        "--module: unknown jobModule 'Sharepoint': did you mean \"SharePoint Online\"? "
        "(all names: docs/codes.md)"
    ) in misspelled.stderr
    missing = partner(env, "jobs", "Delta")
    assert missing.exit_code == 2
    assert "no customer 'Delta'" in missing.stderr
    table = partner(env, "jobs", "Alpha")
    assert "never run" in table.stdout and "Failed to start" in table.stdout


def test_failed_or_stale_services_of_every_customer(world):
    env = credentials(world)
    found = json_of(partner(env, "attention", "--api", "v3", "-f", "json"))
    # Alpha's jobs are from September 2025: every service is stale; two failed, one never
    # ran. Bravo's ran within the hour; Charlie has no service.
    reasons = [(row["customerName"], row["jobModule"], row["reasons"]) for row in found]
    assert reasons == [
        ("Alpha", "SharePoint Online", ["failed", "stale"]),
        ("Alpha", "Azure Virtual Machine", ["failed", "stale"]),
        ("Alpha", "Exchange Online", ["stale"]),
        ("Alpha", "Microsoft 365 Groups", ["stale"]),
        ("Alpha", "OneDrive", ["stale"]),
        ("Alpha", "Gmail", ["stale"]),
        ("Alpha", "Microsoft Teams", ["never run"]),
    ]
    sharepoint = found[0]
    assert (
        sharepoint["ageSeconds"]
        >= (datetime.now(UTC) - datetime(2025, 9, 11, 1, tzinfo=UTC)).total_seconds() - 60
    )
    assert sharepoint["failedCount"] == 7

    # A shorter threshold makes Bravo's hour-old job stale, not the one running for ten
    # minutes; another status may count as failed.
    bravo = json_of(
        partner(env, "attention", "--customer", "Bravo", "--stale-after", "30m", "--api", "v3",
                "-f", "json")
    )  # fmt: skip
    assert [(r["jobModule"], r["reasons"]) for r in bravo] == [("SharePoint Online", ["stale"])]
    with_exceptions = csv_of(
        partner(env, "attention", "--customer", world.alpha, "--status", "Finished with exception",
                "--api", "modern", "-f", "csv")
    )  # fmt: skip
    assert [(r["jobModule"], r["reasons"]) for r in with_exceptions][:1] == [
        ("OneDrive", "failed;stale")
    ]
    bad = partner(env, "attention", "--stale-after", "soon")
    assert bad.exit_code == 2
    assert "not a duration" in bad.stderr


def test_what_needs_attention_is_decided_from_the_wire_values():
    now = datetime(2026, 1, 2, tzinfo=UTC)
    finished = alpha_jobs("c", placeholder_status="None")[1]  # Exchange Online
    rules = {"now": now, "stale_after": timedelta(hours=24), "failed": frozenset({3})}
    fresh = replace(finished, start_time=now - timedelta(hours=23))
    assert attention_reasons(fresh, **rules) == []
    old = replace(finished, start_time=now - timedelta(hours=25))
    assert attention_reasons(old, **rules) == ["stale"]
    # Not started (pending, say): its last modification counts instead.
    pending = replace(finished, start_time=None, last_modify_time=now - timedelta(hours=1))
    assert attention_reasons(pending, **rules) == []
    assert attention_reasons(replace(fresh, status=Coded(3, "Failed")), **rules) == ["failed"]
    never = alpha_jobs("c", placeholder_status="None")[4]
    assert attention_reasons(never, **rules) == ["never run"]


def test_changes_between_two_polls():
    alpha = Customer("c", "Alpha")
    jobs = alpha_jobs("c", placeholder_status="None")
    finished = jobs[1]
    running = replace(finished, status=Coded(1, "Running"))
    rerun = replace(finished, job_id="A-EXO-2")
    before = snapshot([(alpha, [running, jobs[2], jobs[3]])])
    after = snapshot([(alpha, [finished, jobs[2], jobs[4]])])
    assert changes(before, after) == [
        Change("status", alpha, running, finished),
        Change("new service", alpha, None, jobs[4]),
        Change("gone", alpha, jobs[3], None),
    ]
    assert changes(after, snapshot([(alpha, [rerun, jobs[2], jobs[4]])])) == [
        Change("new job", alpha, finished, rerun)
    ]
    assert changes(after, after) == []


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_watch_prints_what_changes_as_it_changes(world):
    # Charlie, so that the other tests' view of Alpha and Bravo stays as it was: a job
    # running for ten minutes, then watched while it finishes and another service starts.
    started = datetime.now(UTC) - timedelta(minutes=10)
    running = {"jobModule": 304, "startTime": stamp(started), "endTime": None}
    ingest(
        world.url,
        world.reader,
        [job(world.charlie, "C-GROUPS", status=1, lastModifyTime=stamp(started), **running)],
    )
    env = {key: value for key, value in credentials(world).items() if value is not None}
    watcher = subprocess.Popen(
        [*BACKUPJOBS, "client", "watch", "--customer", "Charlie", "--interval", "0.3",
         "--count", "200", "-f", "json"],
        env={**world.env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert "watching 1 service every" in watcher.stderr.readline()
        now = datetime.now(UTC)
        finished = {**running, "endTime": stamp(now), "lastModifyTime": stamp(now)}
        ingest(
            world.url,
            world.reader,
            [
                job(world.charlie, "C-GROUPS", status=2, **finished),
                job(world.charlie, "C-OD", jobModule=305, status=2, startTime=stamp(now),
                    endTime=stamp(now), lastModifyTime=stamp(now)),
            ],
        )  # fmt: skip
        seen = [json.loads(watcher.stdout.readline()) for _ in range(2)]
    finally:
        watcher.kill()
        watcher.wait(timeout=30)
    by_kind = {event["change"]: event for event in seen}
    assert set(by_kind) == {"status", "new service"}
    assert by_kind["status"]["jobId"] == "C-GROUPS"
    assert (by_kind["status"]["previousStatus"], by_kind["status"]["status"]) == (
        "Running",
        "Finished",
    )
    assert by_kind["new service"]["jobModule"] == "OneDrive"
    assert by_kind["new service"]["jobId"] == "C-OD"
    assert by_kind["new service"]["customerName"] == "Charlie"
    assert datetime.fromisoformat(by_kind["status"]["time"]) >= now - timedelta(seconds=1)


def test_watch_in_a_table_then_stops_after_its_polls(world):
    started = time.monotonic()
    result = partner(credentials(world), "watch", "--interval", "0.1", "--count", "3")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # nothing changed
    assert "watching" in result.stderr
    assert time.monotonic() - started < 20


def test_credentials_from_a_profile_file_never_from_the_command_line(world, tmp_path):
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        f'[partner]\napi_url = "{world.url}"\nclient_id = "{world.reader.client_id}"\n'
        f'client_secret = "{world.reader.secret}"\n'
    )
    profiles.chmod(0o600)
    env = {
        "BACKUPJOBS_PROFILE_FILE": str(profiles),
        "BACKUPJOBS_API_URL": None,
        "BACKUPJOBS_CLIENT_ID": None,
        "BACKUPJOBS_CLIENT_SECRET": None,
    }
    listed = json_of(partner(env, "customers", "--profile", "partner", "-f", "json"))
    assert len(listed) == 3
    checked = json_of(partner({**env, "BACKUPJOBS_PROFILE": "partner"}, "check", "-f", "json"))
    assert checked["credential"] == "client secret"
    assert checked["expiresIn"] == 3600
    assert checked["clientId"] == world.reader.client_id
    assert "partner.jobs.read.all" in checked["scope"].split()
    assert world.reader.secret not in json.dumps(checked)

    profiles.chmod(0o644)
    exposed = partner(env, "customers", "--profile", "partner")
    assert exposed.exit_code == 2
    assert "chmod 600" in exposed.stderr
    assert world.reader.secret not in exposed.stdout + exposed.stderr

    # There is no option for a secret: it cannot end up in a shell history.
    refused = partner(env, "customers", "--client-secret", world.reader.secret)
    assert refused.exit_code == 2
    nothing = partner(
        {**env, "BACKUPJOBS_PROFILE_FILE": None, "XDG_CONFIG_HOME": str(tmp_path)}, "customers"
    )
    assert nothing.exit_code == 2
    assert "BACKUPJOBS_API_URL" in nothing.stderr


def test_errors_are_one_line_without_the_secret(world):
    wrong = credentials(world, BACKUPJOBS_CLIENT_SECRET="bjs_not_the_secret")
    refused = partner(wrong, "customers")
    assert refused.exit_code == 1
    assert "the token endpoint refused" in refused.stderr
    assert "invalid_client" in refused.stderr
    assert "bjs_not_the_secret" not in refused.stdout + refused.stderr

    denied = partner(credentials(world, world.v3_only), "customers")
    assert denied.exit_code == 1
    assert "403 Forbidden" in denied.stderr
    assert "elements.customers.read.all" in denied.stderr

    stranger = partner(credentials(world), "jobs", world.stranger)
    assert stranger.exit_code == 1
    assert "404 Not Found" in stranger.stderr
    assert world.stranger in stranger.stderr


def test_a_certificate_from_the_environment(world, tmp_path):
    app_ = world.new_app("elements.customers.read.all")
    key = private_key("ec", 70)
    (tmp_path / "partner.key").write_bytes(private_key_pem(key))
    (tmp_path / "partner.pem").write_bytes(certificate_pem(key))
    thumbprint = cli_json(
        world.env, "apps", "add-certificate", "--client-id", app_.client_id,
        "--cert", str(tmp_path / "partner.pem"),
    )["thumbprint"]  # fmt: skip
    env = credentials(
        world,
        app_,
        BACKUPJOBS_CLIENT_SECRET=None,
        BACKUPJOBS_CLIENT_KEY=str(tmp_path / "partner.key"),
        BACKUPJOBS_CLIENT_CERTIFICATE=str(tmp_path / "partner.pem"),
    )
    checked = json_of(partner(env, "check", "-f", "json"))
    assert checked["credential"] == f"certificate {thumbprint} (ES256)"
    assert checked["scope"] == "elements.customers.read.all"
    assert len(json_of(partner(env, "customers", "-f", "json"))) == 3


def test_long_listings_show_progress_on_a_terminal(world, monkeypatch):
    terminal = io.StringIO()
    monkeypatch.setattr(
        "backupjobs.cli.client.session.errors",
        Console(file=terminal, force_terminal=True, width=100),
    )
    assert json_of(partner(credentials(world), "attention", "--api", "v3", "-f", "json"))
    drawn = terminal.getvalue()
    assert "customers' jobs" in drawn
    assert "3/3" in drawn  # every customer's jobs read


def test_changes_print_as_lines_json_or_csv_with_one_header(capsys):
    alpha = Customer("c", "Alpha")
    finished = alpha_jobs("c", placeholder_status="None")[1]
    change = Change("status", alpha, replace(finished, status=Coded(1, "Running")), finished)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for output in Format:
        printer = ChangePrinter(output)
        printer.print(change_row(change, at))
        printer.print(change_row(change, at))
    lines = capsys.readouterr().out.splitlines()
    human, machine, spreadsheet = lines[:2], lines[2:4], lines[4:]
    assert human[0] == human[1]
    assert (
        "2026-01-02 03:04:05Z  Alpha  Microsoft 365 / Exchange Online  status: Running → Finished"
        in human[0]
    )
    assert [json.loads(line)["previousStatus"] for line in machine] == ["Running", "Running"]
    rows = list(csv.DictReader(io.StringIO("\n".join(spreadsheet))))
    assert len(rows) == 2
    assert rows[0]["change"] == "status"
    assert rows[0]["time"] == "2026-01-02T03:04:05Z"
    assert rows[0]["endTime"] == "2025-09-10T22:00:45Z"
    assert rows[0]["name"] == ""
