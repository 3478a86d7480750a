"""The partner CLI over /api/v1: history with filters, the summary, an export with its
progress, and attention from /api/v1/services in one request."""

import json

import pytest

from tests.cli.test_client import credentials, csv_of, json_of, partner
from tests.sdk.partner import partner_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with partner_world(tmp_path_factory.mktemp("cli-reports")) as built:
        yield built


def test_history_with_filters_as_json_and_csv(world):
    env = credentials(world)
    failed = json_of(
        partner(env, "history", "--status", "failed", "--customer", "Alpha", "-f", "json")
    )
    assert failed and {row["statusName"] for row in failed} == {"Failed"}
    assert {row["customerName"] for row in failed} == {"Alpha"}
    recent = csv_of(partner(env, "history", "--since", "2h", "-f", "csv"))
    assert recent and {row["customerName"] for row in recent} == {"Bravo"}
    table = partner(env, "history", "--limit", "2")
    assert table.exit_code == 0 and "Job ID" in table.stdout


def test_summary_as_a_table_and_json(world):
    env = credentials(world)
    rows = json_of(partner(env, "summary", "--since", "400d", "-f", "json"))
    assert [row["customerName"] for row in rows][-1] == "Charlie"
    assert all(0 <= (row["successRate"] or 0) <= 1 for row in rows)
    table = partner(env, "summary")
    assert table.exit_code == 0 and "customers," in table.stdout


def test_export_to_a_file(world, tmp_path):
    env = credentials(world)
    target = tmp_path / "jobs.ndjson"
    result = partner(env, "export", str(target))
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    history = json_of(partner(env, "history", "--limit", "1000", "-f", "json"))
    assert [line["jobId"] for line in lines] == [row["jobId"] for row in history]
    assert f"{len(lines):,} jobs written" in result.stderr
    csv_file = tmp_path / "jobs.csv"
    assert partner(env, "export", str(csv_file), "--status", "3").exit_code == 0
    assert csv_file.read_text().startswith("jobId,")


def test_attention_from_the_services_list(world):
    env = credentials(world)
    rows = json_of(partner(env, "attention", "--api", "v1", "--stale-after", "36h", "-f", "json"))
    healths = {(row["customerName"], row["jobModuleName"]): row["health"] for row in rows}
    assert healths[("Alpha", "Microsoft Teams")] == "never_run"
    assert "failing" in set(healths.values())
    assert all(row["customerName"] != "Charlie" for row in rows)
