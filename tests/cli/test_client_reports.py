"""The partner CLI over /api/v1: history with filters, the summary, an export with its
progress, and attention from /api/v1/services in one request."""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
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


@contextmanager
def in_front_of(url, *, without_v1):
    """A real HTTP server that passes every request on to ``url`` and records its path;
    ``without_v1``: answers 404 to /api/v1 instead, as the vendor's API does."""
    seen = []
    upstream = httpx.Client(base_url=url, timeout=30)

    class Forward(BaseHTTPRequestHandler):
        def _forward(self):
            seen.append(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if without_v1 and self.path.startswith("/api/v1/"):
                status, headers, content = 404, {"Content-Type": "text/plain"}, b"Not Found"
            else:
                passed = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = upstream.request(self.command, self.path, headers=passed, content=body)
                status, content = answer.status_code, answer.content
                headers = {"Content-Type": answer.headers.get("Content-Type", "text/plain")}
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(content))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _forward

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()
        upstream.close()


def aged(row):
    """An attention row but its age (seconds since, which moves between two calls)."""
    return {name: value for name, value in row.items() if name != "ageSeconds"}


def asked(seen, path):
    return [p for p in seen if p.split("?")[0].startswith(path)]


def test_attention_asks_the_services_list_once_where_the_server_has_it(world):
    env = credentials(world)
    with in_front_of(world.url, without_v1=False) as (url, seen):
        found = json_of(partner({**env, "BACKUPJOBS_API_URL": url}, "attention", "-f", "json"))
    assert found == json_of(partner(env, "attention", "--api", "v1", "-f", "json"))
    assert {row["health"] for row in found} >= {"failing", "never_run"}
    assert len(asked(seen, "/api/v1/services")) == 1
    assert not [p for p in seen if "/jobs" in p and "/api/v1/" not in p]  # no customer's jobs


def test_attention_asks_each_customer_where_the_server_has_no_services_list(world):
    env = credentials(world)
    with in_front_of(world.url, without_v1=True) as (url, seen):
        vendor = {**env, "BACKUPJOBS_API_URL": url}
        found = json_of(partner(vendor, "attention", "-f", "json"))
        services_asked = len(asked(seen, "/api/v1/services"))
        refused = partner(vendor, "attention", "--api", "v1")
    by_v3 = json_of(partner(env, "attention", "--api", "v3", "-f", "json"))
    assert [aged(row) for row in found] == [aged(row) for row in by_v3]
    assert found[0]["reasons"] == ["failed", "stale"]
    assert services_asked == 1  # asked once, then the vendor's way: each customer's jobs
    assert len([p for p in seen if "/avpt-products/jobs/batch" in p]) == 3
    assert refused.exit_code == 1 and "404" in refused.stderr


def test_attention_with_its_own_failed_statuses_asks_each_customer(world):
    env = credentials(world)
    with in_front_of(world.url, without_v1=False) as (url, seen):
        found = json_of(
            partner({**env, "BACKUPJOBS_API_URL": url}, "attention", "--status", "Failed",
                    "-f", "json")
        )  # fmt: skip
    assert not asked(seen, "/api/v1/")
    assert found and all("reasons" in row for row in found)
