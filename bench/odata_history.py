"""The history feed's page against the same page from ``/api/v1/jobs``, in the same run.

    python -m bench.odata_history             # simulate 2,000 customers x 50 days, measure
    python -m bench.odata_history --database-url URL --client-id ID --client-secret S

On a PostgreSQL database with simulated history, one ``backupjobs serve`` worker; wrk
loads, in turn and for several rounds, a page of 100 jobs of a random customer in a
7-day window as Power BI's incremental refresh asks it of the OData feed
(``/api/v1/odata/Jobs?$filter=customerId eq C and startTime ge X and startTime lt Y``)
and the same page from ``/api/v1/jobs`` (``customerId``, ``startedFrom``, ``startedTo``).
Target: the OData page's p50 within 1.5x of the ``/api/v1/jobs`` page's.

Then, requests made one after another (not wrk), reported beside the JSON report each one
equals (no target; the rows checked equal first): ``DailyOutcomes`` of a random
customer over the last 7 days against ``/api/v1/daily?customerId=C``, and a page of 100
``Customers`` against a page of ``/api/v1/summary`` (both judge every customer's health).
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx

from bench import harness

TARGET_RATIO = 1.5
TOKENS = 10
WINDOW_DAYS = 7
PAGE = 100


def _paths(end: datetime) -> tuple[str, str]:
    start = end - timedelta(days=WINDOW_DAYS)
    since, until = (moment.strftime("%Y-%m-%dT%H:%M:%SZ") for moment in (start, end))
    window = f"customerId eq {{customer}} and startTime ge {since} and startTime lt {until}"
    odata = f"/api/v1/odata/Jobs?$filter={quote(window, safe='{}')}&$top={PAGE}"
    v1 = f"/api/v1/jobs?customerId={{customer}}&startedFrom={since}&startedTo={until}&limit={PAGE}"
    return odata, v1


def _report_paths() -> list[tuple[str, str, str]]:
    """(name, OData path, JSON report path) of the report sets."""
    of_customer = quote("customerId eq {customer}", safe="{}")
    return [
        ("DailyOutcomes", f"/api/v1/odata/DailyOutcomes?$filter={of_customer}",
         "/api/v1/daily?customerId={customer}"),
        ("Customers", f"/api/v1/odata/Customers?$top={PAGE}", f"/api/v1/summary?limit={PAGE}"),
    ]  # fmt: skip


def _same_rows(name: str, odata: httpx.Response, report: httpx.Response) -> bool:
    rows, answer = odata.json()["value"], report.json()
    if name == "DailyOutcomes":
        return [(r["customerId"], r["date"], r["jobs"]) for r in rows] == [
            (r["customerId"], r["date"], r["jobs"]) for r in answer["items"]
        ]
    # Customers by id, the summary worst first: the same customers' jobStatus, either way.
    by_id = {c["customerId"]: c["jobStatus"] for c in answer["customers"]}
    return len(rows) == len(by_id) and all(
        by_id.get(r["customerId"], r["jobStatus"]) == r["jobStatus"] for r in rows
    )


def _sequential_p50(
    url: str, path: str, customers: list[str], tokens: list[str], seconds: float
) -> float:
    """The median latency in ms of requests made one after another for ``seconds`` (and
    at least 5 requests), each for a random customer and token. Not wrk: a page of
    Customers, like one of /api/v1/summary, judges every customer (a quarter of a second
    at 2,000 on a quiet machine), and wrk's 2 s timeout cuts such requests short on a busy
    one."""
    latencies: list[float] = []
    ends = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=60) as client:
        while time.monotonic() < ends or len(latencies) < 5:
            customer, token = random.choice(customers), random.choice(tokens)
            started = time.perf_counter()
            response = client.get(
                path.replace("{customer}", customer), headers={"Authorization": f"Bearer {token}"}
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.text[:500]}")
    return statistics.median(latencies)


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="use this simulated database instead of a new one")
    parser.add_argument("--client-id", help="with --database-url: the simulated app")
    parser.add_argument("--client-secret", help="with --database-url: its secret")
    args = parser.parse_args()
    print(f"bench.odata_history on {harness.conditions()}")
    if args.database_url:
        _run(args, args.database_url, args.client_id, args.client_secret)
        return
    with harness.postgres_database() as database_url:
        simulated = harness.simulate(database_url, args.customers, args.days)
        print(f"simulate --customers {args.customers} --days {args.days}: {simulated.jobs:,} jobs")
        _run(args, database_url, simulated.client_id, simulated.client_secret)


def _run(args: object, database_url: str, client_id: str, client_secret: str) -> None:
    options = vars(args)
    with harness.backupjobs_server(database_url, workers=1) as server:
        tokens = [harness.token(server.url, client_id, client_secret) for _ in range(TOKENS)]
        customers = harness.customer_ids(server.url, tokens[0])
        odata, v1 = _paths(datetime.now(UTC))
        sample = customers[0]
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        odata_rows = httpx.get(server.url + odata.replace("{customer}", sample), headers=headers)
        v1_rows = httpx.get(server.url + v1.replace("{customer}", sample), headers=headers)
        odata_rows.raise_for_status()
        v1_rows.raise_for_status()
        same = [r["jobId"] for r in odata_rows.json()["value"]] == [
            r["jobId"] for r in v1_rows.json()["items"]
        ]
        print(
            f"{len(customers):,} customers; a {WINDOW_DAYS}-day page of customer {sample}: "
            f"{len(v1_rows.json()['items'])} rows, the same jobs in both: {same}"
        )
        load = {"customers": customers, "tokens": tokens, "connections": options["connections"]}
        for path in (odata, v1):
            harness.wrk(server.url, method="GET", path_template=path, seconds=3, **load)  # type: ignore[arg-type]
        ratios, odata_p50s, v1_p50s = [], [], []
        for round_number in range(1, options["rounds"] + 1):
            served_v1 = harness.wrk(server.url, method="GET", path_template=v1,
                                    seconds=options["seconds"], **load)  # type: ignore[arg-type]  # fmt: skip
            served_odata = harness.wrk(server.url, method="GET", path_template=odata,
                                       seconds=options["seconds"], **load)  # type: ignore[arg-type]  # fmt: skip
            for name, served in (("OData", served_odata), ("/api/v1/jobs", served_v1)):
                if served.non_2xx or served.errors:
                    raise SystemExit(f"{name}: failed requests: {served.describe()}")
            ratio = served_odata.latency_ms["50%"] / served_v1.latency_ms["50%"]
            print(
                f"  round {round_number}: OData {served_odata.describe()}; /api/v1/jobs "
                f"{served_v1.describe()}; p50 ratio {ratio:.2f}"
            )
            ratios.append(ratio)
            odata_p50s.append(served_odata.latency_ms["50%"])
            v1_p50s.append(served_v1.latency_ms["50%"])
        ratio = statistics.median(ratios)
        print(
            f"\nwrk -c{options['connections']}, {options['seconds']:.0f} s runs, medians: "
            f"OData p50 {statistics.median(odata_p50s):.2f} ms, /api/v1/jobs p50 "
            f"{statistics.median(v1_p50s):.2f} ms, ratio {ratio:.2f} (target <= {TARGET_RATIO}: "
            f"{harness.verdict(ratio, TARGET_RATIO, higher_is_better=False)})"
        )
        for name, odata_path, report_path in _report_paths():
            pair = [
                httpx.get(server.url + path.replace("{customer}", sample), headers=headers)
                for path in (odata_path, report_path)
            ]
            for response in pair:
                response.raise_for_status()
            p50s = [
                _sequential_p50(server.url, path, customers, tokens, options["seconds"])
                for path in (odata_path, report_path)
            ]
            print(
                f"{name}: same rows as the report: {_same_rows(name, *pair)}; p50 "
                f"{p50s[0]:.2f} ms, the report {p50s[1]:.2f} ms, ratio {p50s[0] / p50s[1]:.2f}"
            )


if __name__ == "__main__":
    main()
