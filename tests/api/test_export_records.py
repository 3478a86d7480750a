"""The export's records are the history's, byte for byte: what ``/api/v1/jobs`` pages
(``v1_job``) written as NDJSON by msgspec, and as CSV cell by cell by the rule
(``csv_cell``), which the export's whole-line test must agree with; the CSV read back by
Python's own reader gives the neutralised values. For odd values of every field (quotes,
commas, line breaks, control characters, leading formula characters and non-ASCII text in
names, customer names and jobIds; missing, whole-second, millisecond and microsecond
times in other zones, years 1 and 9999; the largest sizes; every status, job type and
module; running jobs), on both databases."""

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backupjobs.api.history import (
    CSV,
    CSV_HEADER,
    NDJSON,
    csv_cell,
    csv_line,
    export_chunks,
    neutralised,
)
from backupjobs.catalog import JOB_MODULES, JOB_TYPES, RUNNING, STATUSES
from backupjobs.model import parse_record
from backupjobs.store.database import Database
from backupjobs.store.history import JobFilters, history_page
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.scope import TenantScope
from backupjobs.wire.v1 import V1_JOB_FIELDS, V1Job, v1_job
from tests.world import make_tenant

#: Text that tests the writers: JSON escapes, CSV quoting and formulas, wide characters.
ODD_TEXT = (
    "=HYPERLINK(1)",
    "+1",
    "-1",
    "@SUM(A1)",
    "\tTab first",
    "\rCR first",
    'a "quoted", name',
    "line\nbreak\r\nand CRLF",
    "back\\slash \\u0041",
    "\x01\x08\x0c\x1f\x7f controls",
    "é ☃ 𝄞 \u2028\u2029 wide",
    "'already quoted",
    "",
    " spaced ",
)
#: Anything but NUL (not stored, ingestion says so) and lone surrogates (not UTF-8).
_CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
text = st.one_of(st.sampled_from(ODD_TEXT), st.text(_CHARACTERS, max_size=20))
#: Up to the largest int64 (the reports' sums of them saturate: tests/api/test_byte_sums.py).
counts = st.one_of(st.none(), st.sampled_from([0, 1, 2**31, 2**63 - 1]), st.integers(0, 10**6))
#: Times to the microsecond, or to the millisecond, or whole seconds; with an offset.
instants = st.builds(
    lambda moment, precision, offset: (
        moment.replace(microsecond=moment.microsecond // precision * precision)
        .replace(tzinfo=UTC)
        .astimezone(offset)
    ),
    st.one_of(
        st.datetimes(datetime(2024, 1, 1), datetime(2027, 1, 1)),
        st.sampled_from([datetime(1, 1, 1, 16, 0, 0, 1), datetime(9999, 12, 31, 8, 59, 59)]),
    ),
    st.sampled_from([1, 1000, 1_000_000]),
    st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=45)), timezone(-timedelta(hours=3.5))]
    ),
)


@st.composite
def reported(draw, index):
    """A record ingestion accepts, with odd values."""
    start = draw(st.one_of(st.none(), instants))
    end = draw(st.one_of(st.none(), instants))
    if start is not None and end is not None and end < start:
        start, end = end, start
    return {
        "jobId": f"{index}-{draw(text)}",
        "jobType": draw(st.sampled_from([entry.code for entry in JOB_TYPES])),
        "jobModule": draw(st.sampled_from([entry.code for entry in JOB_MODULES])),
        "status": draw(st.sampled_from([entry.code for entry in STATUSES])),
        "name": draw(st.one_of(st.none(), text)),
        "totalCount": draw(counts),
        "failedCount": draw(counts),
        "successfulCount": draw(counts),
        "skippedCount": draw(counts),
        "warningCount": draw(counts),
        "backupSizeBytes": draw(counts),
        "startTime": None if start is None else start.isoformat(),
        "endTime": None if end is None else end.isoformat(),
        "lastModifyTime": draw(instants).isoformat(),
    }


customer_names = st.one_of(st.sampled_from(ODD_TEXT), st.text(_CHARACTERS, max_size=30)).filter(
    lambda name: name.strip() and len(name.strip()) <= 200
)


async def exported_and_rendered(database_url, customer_name, reports, media_type, now):
    db = Database(database_url)
    try:
        await db.migrate()
        tenant = await make_tenant(db, customers=1, names=[customer_name])
        customer = tenant.customers[0]
        records = [
            parse_record(msgspec.json.encode({**report, "customerId": str(customer)}))
            for report in reports
        ]
        scope = TenantScope(tenant.partner_id, tenant.client_id)
        result = await Ingestor(db).ingest_batch(scope, list(enumerate(records)))
        assert not result.rejected, result.rejected
        async with db.read() as connection:
            exported = b"".join(
                [
                    chunk
                    async for chunk in export_chunks(
                        connection, scope, JobFilters(), media_type, now=now
                    )
                ]
            )
            rows, _ = await history_page(connection, scope, JobFilters(), None, limit=1000)
        return exported, [v1_job(row._mapping, now=now) for row in rows]
    finally:
        await db.dispose()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    customer_name=customer_names,
    reports=st.lists(st.integers(0, 10**6), min_size=1, max_size=8, unique=True).flatmap(
        lambda numbers: st.tuples(*(reported(number) for number in numbers))
    ),
    media_type=st.sampled_from([NDJSON, CSV]),
    now=instants,
)
def test_the_export_is_the_history_byte_for_byte(
    database_url, customer_name, reports, media_type, now
):
    exported, records = asyncio.run(
        exported_and_rendered(database_url, customer_name, reports, media_type, now)
    )
    assert exported == rendered(records, media_type)
    if media_type == CSV:
        read = list(csv.reader(io.StringIO(exported.decode(), newline="")))
        assert read[0] == list(V1_JOB_FIELDS)
        assert read[1:] == [
            ["" if value is None else neutralised(str(value)) for value in values]
            for values in map(msgspec.structs.astuple, records)
        ]


def rendered(records: list[V1Job], media_type: str) -> bytes:
    """The records as the history's JSON writes them, or as CSV a cell at a time."""
    if media_type == NDJSON:
        return b"".join(msgspec.json.encode(record) + b"\n" for record in records)
    lines = [
        ",".join(csv_cell(getattr(record, name)) for name in V1_JOB_FIELDS) + "\r\n"
        for record in records
    ]
    return (CSV_HEADER + "".join(lines)).encode()


@pytest.mark.parametrize("media_type", [NDJSON, CSV])
def test_every_code_and_a_running_job(database_url, media_type):
    """Every status, job type and module, and running jobs started before and after
    ``now``."""
    now = datetime(2026, 12, 4, 12, 0, 0, 250_000, tzinfo=UTC)
    started = now - timedelta(hours=1, microseconds=1)
    reports = [
        {
            "jobId": f"code-{n}",
            "jobType": list(JOB_TYPES)[n % len(JOB_TYPES)].code,
            "jobModule": list(JOB_MODULES)[n % len(JOB_MODULES)].code,
            "status": list(STATUSES)[n % len(STATUSES)].code,
            "startTime": (started + timedelta(minutes=n)).isoformat(),
            "endTime": None,
            "lastModifyTime": started.isoformat(),
        }
        for n in range(max(len(JOB_TYPES), len(JOB_MODULES), len(STATUSES)))
    ]
    reports.append({**reports[0], "jobId": "later", "status": RUNNING,
                    "startTime": (now + timedelta(hours=2)).isoformat()})  # fmt: skip
    exported, records = asyncio.run(
        exported_and_rendered(database_url, "Northwind", reports, media_type, now)
    )
    assert exported == rendered(records, media_type)
    assert b"Waiting for configuration" in exported
    later = next(record for record in records if record.jobId == "later")
    assert later.durationSeconds == 0


def test_csv_cells():
    assert csv_cell(None) == ""
    assert csv_cell(-5) == "'-5"
    assert csv_cell('=a,"b"') == '"\'=a,""b"""'
    assert csv_cell("\r\nx") == '"\'\r\nx"'


@pytest.mark.parametrize("field", ["jobId", "customerName", "name"])
@pytest.mark.parametrize("value", ODD_TEXT)
def test_a_record_is_written_as_its_cells_are(field, value):
    """The export tests a whole line at once for what would change a cell: it agrees
    with the cell by cell rule wherever an odd value is."""
    record = V1Job(
        "FB1", UUID("00427fbc-8832-46cf-a1d2-582fa46ec638"), "Northwind", 7, "Microsoft 365",
        304, "Microsoft 365 Groups", 3, "Failed", "Nightly", -1, 0, 2, None, 4, 2**63 - 1,
        "2025-09-11T03:21:16.800Z", None, 5, "2025-09-11T03:38:57.000Z",
    )  # fmt: skip
    for changed in (record, msgspec.structs.replace(record, totalCount=1)):
        odd = msgspec.structs.replace(changed, **{field: value})
        assert csv_line(odd) == rendered([odd], CSV).removeprefix(CSV_HEADER.encode()).decode()
