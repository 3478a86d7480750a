"""GET /api/v1/jobs/export: the history's records and order as CSV (RFC 4180, formulas
neutralised) or NDJSON, an attachment, gzip when accepted; a client that goes away
mid-export gives the database connection back at once."""

import asyncio
import csv
import io
import json
import uuid
from datetime import timedelta

import pytest

from backupjobs.api.history import neutralised
from backupjobs.wire.v1 import V1_JOB_FIELDS
from tests.api.reports import NOW, make_world, run
from tests.world import ingest, make_tenant

EXPORT = "/api/v1/jobs/export"


@pytest.fixture
async def world(client, db):
    return await make_world(client, db)


async def history(client, headers, params):
    answer = await client.get("/api/v1/jobs", params={**params, "limit": 1000}, headers=headers)
    return answer.json()["items"]


@pytest.mark.parametrize("params", [{}, {"status": ["Failed", "7"]}, {"customerId": "<bravo>"}])
async def test_ndjson_is_the_history_for_the_same_filters(client, world, params):
    headers = await world.a.headers(client)
    if params.get("customerId"):
        params = {"customerId": str(world.a.customers[1])}
    answer = await client.get(EXPORT, params={**params, "format": "ndjson"}, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-ndjson"
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="backupjobs-jobs-')
    assert disposition.endswith('.ndjson"')
    lines = [json.loads(line) for line in answer.text.splitlines()]
    expected = await history(client, headers, params)
    for record in (*lines, *expected):  # a running job's duration grows between the two
        record.pop("durationSeconds")
    assert lines == expected and lines


async def test_ndjson_with_a_window_and_a_name_is_the_history(client, world):
    # Every kind of parameter the statement binds (times, a pattern, the scoped app's
    # customers), as PostgreSQL's export path sends them to the driver itself.
    window = {
        "startedFrom": (NOW - timedelta(days=3)).isoformat(),
        "startedTo": (NOW - timedelta(hours=1, minutes=30)).isoformat(),
        "q": "POINT",
    }
    names = set()
    for tenant, params in ((world.a, window), (world.scoped, {"status": ["2", "Failed"]})):
        headers = await tenant.headers(client)
        answer = await client.get(EXPORT, params={**params, "format": "ndjson"}, headers=headers)
        lines = [json.loads(line) for line in answer.text.splitlines()]
        assert lines == await history(client, headers, params) and lines
        names.add(frozenset(line["name"] for line in lines))
    assert frozenset({"SharePoint 0", "SharePoint 1", "SharePoint 2"}) in names


async def test_csv_is_rfc_4180_with_formulas_neutralised(client, world):
    headers = {**await world.a.headers(client), "Accept": "text/csv"}
    answer = await client.get(EXPORT, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].endswith('.csv"')
    assert answer.text.startswith(",".join(V1_JOB_FIELDS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    expected = await history(client, headers, {})
    assert [row["jobId"] for row in rows] == [item["jobId"] for item in expected]
    failed = next(row for row in rows if row["jobId"] == "A-gr-0")
    assert failed["name"] == "'=HYPERLINK(1)"
    assert next(r for r in rows if r["jobId"] == "B-gr-0")["name"] == "Groups, weekly"
    running = next(row for row in rows if row["jobId"] == "C-ex-0")
    assert running["endTime"] == "" and running["status"] == "1"


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_get_a_leading_quote(cell):
    assert neutralised(cell) == "'" + cell
    assert neutralised("plain =") == "plain ="


async def test_gzip_when_accepted(client, world):
    headers = {**await world.a.headers(client), "Accept-Encoding": "gzip"}
    answer = await client.get(EXPORT, params={"format": "ndjson"}, headers=headers)
    assert answer.headers["content-encoding"] == "gzip"
    # httpx decodes it: the body is the same as without compression.
    plain = await client.get(
        EXPORT, params={"format": "ndjson"}, headers={**headers, "Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert len(answer.text.splitlines()) == len(plain.text.splitlines())


async def test_wrong_format_and_foreign_customer(client, world):
    headers = await world.scoped.headers(client)
    bad = await client.get(EXPORT, params={"format": "xlsx"}, headers=headers)
    assert bad.status_code == 400 and "format" in bad.json()["detail"]
    assert "xlsx" in bad.json()["detail"]
    answers = set()
    for customer in (world.b.customers[0], world.a.customers[1], uuid.uuid4()):
        answer = await client.get(EXPORT, params={"customerId": str(customer)}, headers=headers)
        answers.add((answer.status_code, answer.text.replace(str(customer), "<id>")))
    assert len(answers) == 1 and next(iter(answers))[0] == 404
    mine = await client.get(EXPORT, params={"format": "ndjson"}, headers=headers)
    assert {json.loads(line)["customerName"] for line in mine.text.splitlines()} == {"Alpha"}


async def test_a_client_that_goes_away_releases_the_database(app, client, db):
    tenant = await make_tenant(db, customers=1)
    customer = tenant.customers[0]
    await ingest(client, tenant, [run(customer, f"E-{n}", n / 10) for n in range(900)])
    token = await tenant.token(client)
    pool = db.engine.pool
    # The session application's background work (deliverer, stale checks) borrows a
    # connection now and then: the baseline is the fewest seen while it settles.
    before = pool.checkedout()  # type: ignore[attr-defined]
    for _ in range(20):
        await asyncio.sleep(0.01)
        before = min(before, pool.checkedout())  # type: ignore[attr-defined]
    chunks: list[bytes] = []
    gone = asyncio.Event()
    asked = False

    async def receive():
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body" and message.get("body"):
            chunks.append(message["body"])
            gone.set()  # the client leaves after the first chunk
        await asyncio.sleep(0.01)  # a network takes its time

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": EXPORT,
        "raw_path": EXPORT.encode(),
        "query_string": b"format=ndjson",
        "root_path": "",
        "headers": [(b"host", b"testserver.local"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver.local", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    assert len(chunks) < 5  # not the whole export (about 500 KB)
    assert sum(map(len, chunks)) < 400_000
    for _ in range(100):
        if pool.checkedout() <= before:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.02)
    assert pool.checkedout() <= before  # type: ignore[attr-defined]
