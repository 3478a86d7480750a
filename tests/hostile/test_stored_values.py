"""A customer's pages never depend on one bad row being absent: values that ingestion now
refuses, but that a database written before (or by hand) may hold, still render."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from backupjobs.store import directory
from tests.world import ingest, job, make_tenant, v3_jobs_path

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _stored(db, moment: str):
    """A time outside what Python holds, as the database would have stored it."""
    if db.is_sqlite:  # integer microseconds since the epoch
        if moment == "before":
            return (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MICROSECOND - 3_600_000_000
        return (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH) // _MICROSECOND + 10**13
    return "0001-12-31 23:00:00+00 BC" if moment == "before" else "10000-01-01 00:59:59+00"


@pytest.mark.parametrize(
    "column", ["latest_start_time", "latest_end_time", "latest_last_modify_time"]
)
@pytest.mark.parametrize("moment", ["before", "after"])
async def test_a_stored_time_outside_years_1_to_9999_still_renders(client, db, column, moment):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, "bad"), job(c, "good", jobModule=302)])
    value = ":value" if db.is_sqlite else "CAST(CAST(:value AS text) AS timestamptz)"
    async with db.write() as connection:
        await connection.execute(
            text(f"UPDATE backup_services SET {column} = {value} WHERE latest_job_id = 'bad'"),
            {"value": _stored(db, moment)},
        )
        await directory.services_changed(connection, tenant.partner_id, [c])
    headers = await tenant.headers(client)
    response = await client.post(v3_jobs_path(c), headers=headers)
    assert response.status_code == 200, response.text
    assert {row["jobId"] for row in response.json()["data"]} == {"bad", "good"}
    modern = await client.get(f"/partner/customers/{c}/jobs", headers=headers)
    assert modern.status_code == 200, modern.text


async def test_a_stored_code_the_catalog_does_not_hold_still_renders(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, "odd")])
    async with db.write() as connection:
        await connection.execute(
            text("UPDATE backup_services SET latest_status = 99 WHERE latest_job_id = 'odd'")
        )
        await directory.services_changed(connection, tenant.partner_id, [c])
    headers = await tenant.headers(client)
    v3 = await client.post(v3_jobs_path(c), headers=headers)
    assert v3.status_code == 200 and v3.json()["data"][0]["status"] == 99
    modern = await client.get(f"/partner/customers/{c}/jobs", headers=headers)
    assert modern.status_code == 200, modern.text
    assert modern.json()["value"][0]["status"] == "99"
