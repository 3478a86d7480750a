"""Byte figures past what a BIGINT holds: jobs of the largest size ingestion accepts
(2^63-1 bytes) add up to more than 2^63-1 in the kept aggregates and the reports' sums.
Those figures stop at 2^63-1 (they saturate) instead of failing the batch or the report."""

from datetime import UTC, datetime, timedelta

from tests.world import ingest, job, make_tenant

MOST = 2**63 - 1
OK_STATUSES = (200,)


def _at(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")


def _huge(customer, job_id, hours_ago, **fields):
    start = _at(hours_ago)
    return job(
        customer,
        job_id,
        backupSizeBytes=MOST,
        startTime=start,
        endTime=start,
        lastModifyTime=start,
        **fields,
    )


async def _reports(client, tenant, customer):
    headers = await tenant.headers(client)
    answers = {}
    for path, params in (
        ("/api/v1/summary", {}),
        ("/api/v1/summary", {"customerId": str(customer)}),
        ("/api/v1/daily", {}),
        ("/api/v1/daily", {"tz": "Asia/Tokyo", "customerId": str(customer)}),
        ("/api/v1/services", {}),
        ("/api/v1/jobs", {}),
        ("/api/v1/odata/Customers", {}),
        ("/api/v1/odata/DailyOutcomes", {}),
    ):
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code in OK_STATUSES, (path, response.text)
        answers[(path, tuple(params))] = response.json()
    return answers


async def test_byte_sums_past_a_bigint_saturate_on_ingestion_and_in_every_report(client, db):
    tenant = await make_tenant(db, customers=1)
    customer = tenant.customers[0]
    # Two in one service's quarter-hour (one row of job_outcomes), one in another service
    # (the customer's services' latest bytes), all on one day (customer_days, blocks).
    answer = await ingest(
        client,
        tenant,
        [
            _huge(customer, "big-1", 2.0),
            _huge(customer, "big-2", 2.0),
            _huge(customer, "big-3", 2.0, jobModule=302),
        ],
    )
    assert answer["stored"] == 3 and not answer["rejected"], answer
    answers = await _reports(client, tenant, customer)
    summary = answers[("/api/v1/summary", ())]
    assert summary["totals"]["jobs"] == 3
    assert summary["totals"]["backupSizeBytes"] == MOST
    assert summary["customers"][0]["backupSizeBytes"] == MOST
    assert answers[("/api/v1/summary", ("customerId",))]["totals"] == summary["totals"]
    for key in (("/api/v1/daily", ()), ("/api/v1/daily", ("tz", "customerId"))):
        (day,) = [item for item in answers[key]["items"] if item["jobs"]]
        assert day["jobs"] == 3 and day["backupSizeBytes"] == MOST, answers[key]
    (odata_day,) = [
        day for day in answers[("/api/v1/odata/DailyOutcomes", ())]["value"] if day["jobs"]
    ]
    assert odata_day["backupSizeBytes"] == MOST
    (odata_customer,) = answers[("/api/v1/odata/Customers", ())]["value"]
    assert odata_customer["backupSizeBytes"] == MOST

    # Two re-reported small: the batch is stored, the jobs still counted once each.
    await ingest(
        client,
        tenant,
        [
            {**_huge(customer, job_id, 2.0, **extra), "backupSizeBytes": 1000}
            for job_id, extra in (("big-1", {}), ("big-2", {}))
        ],
    )
    summary = (await _reports(client, tenant, customer))[("/api/v1/summary", ())]
    assert summary["totals"]["jobs"] == 3
    assert summary["totals"]["backupSizeBytes"] == MOST  # big-3 is its service's latest


async def test_small_byte_sums_stay_exact_next_to_huge_ones(client, db):
    tenant = await make_tenant(db, customers=2)
    small, big = tenant.customers
    await ingest(
        client,
        tenant,
        [
            _huge(big, "big-1", 3.0),
            _huge(big, "big-2", 3.0),
            {**_huge(small, "small-1", 3.0), "backupSizeBytes": 123},
            {**_huge(small, "small-2", 3.0), "backupSizeBytes": 877},
        ],
    )
    headers = await tenant.headers(client)
    summary = (await client.get("/api/v1/summary", headers=headers)).json()
    by_id = {c["customerId"]: c for c in summary["customers"]}
    assert by_id[str(small)]["backupSizeBytes"] == 877  # its service's latest job
    assert by_id[str(big)]["backupSizeBytes"] == MOST
    assert summary["totals"]["backupSizeBytes"] == MOST
    daily = (await client.get("/api/v1/daily", headers=headers)).json()["items"]
    by_customer = {item["customerId"]: item["backupSizeBytes"] for item in daily if item["jobs"]}
    assert by_customer == {str(small): 1000, str(big): MOST}
