"""The dashboard's overview for 2,000 customers: server time p50, and the page's weight.

    python -m bench.dashboard              # 2,000 customers, 14 days of simulated history
    python -m bench.dashboard --database-url URL --partner-id P --client-id C --client-secret S

One PostgreSQL database with a simulated partner; one ``backupjobs serve`` worker. A
dashboard user signs in (``backupjobs users create``), then the overview (``/dashboard``:
totals, 2,000 customers worst first, the first 50 with their 14-day strips) is read
sequentially, over loopback, ``--requests`` times; beside it, in the same run, the same
customers' summary from the API (``/api/v1/summary?limit=50``, the overview's data source
as JSON) as the reference. Page weight: the overview's HTML and every asset it loads,
each compressed with gzip (level 6, as a compressing proxy or browser cache stores it),
and the customer page's (which adds uPlot). Targets: overview p50 <= 150 ms; page weight
<= 300 KB.
"""

from __future__ import annotations

import gzip
import re
import statistics
import subprocess
import time
import uuid

import httpx

from bench import harness

TARGET_P50_MS = 150
TARGET_WEIGHT_KB = 300


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database-url", help="use this simulated database instead of a new one")
    parser.add_argument("--partner-id", help="with --database-url: the simulated partner")
    parser.add_argument("--client-id", help="with --database-url: the simulated app")
    parser.add_argument("--client-secret", help="with --database-url: its secret")
    args = parser.parse_args()
    print(f"bench.dashboard on {harness.conditions()}")
    if args.database_url:
        app = (args.partner_id, args.client_id, args.client_secret)
        overview, summary, weights = measured(args.database_url, app, args.requests)
    else:
        with harness.postgres_database() as url:
            simulated = harness.simulate(url, args.customers, args.days)
            print(f"  {simulated.customers:,} customers, {simulated.jobs:,} jobs, {args.days} days")
            app = (simulated.partner_id, simulated.client_id, simulated.client_secret)
            overview, summary, weights = measured(url, app, args.requests)
    p50, reference = statistics.median(overview), statistics.median(summary)
    print(
        f"\n{args.requests} sequential requests each: overview p50 {p50:.1f} ms "
        f"(p90 {quantile(overview, 0.9):.1f}), /api/v1/summary?limit=50 p50 {reference:.1f} ms; "
        f"ratio {p50 / reference:.2f}. Target p50 <= {TARGET_P50_MS} ms: "
        f"{harness.verdict(p50, TARGET_P50_MS, higher_is_better=False)}"
    )
    for name, (total, parts) in weights.items():
        listed = ", ".join(
            f"{path.rsplit('/', 1)[-1] or 'page'} {size / 1024:.1f}" for path, size in parts
        )
        verdict = harness.verdict(total / 1024, TARGET_WEIGHT_KB, higher_is_better=False)
        print(
            f"{name} page weight, gzip: {total / 1024:.1f} KB ({listed}). "
            f"Target <= {TARGET_WEIGHT_KB} KB: {verdict}"
        )


def measured(
    url: str, app: tuple[str, str, str], requests: int
) -> tuple[list[float], list[float], dict[str, tuple[int, list[tuple[str, int]]]]]:
    """The overview's and the summary's times, and the pages' weights, on ``url`` with
    the simulated ``app`` (partner id, client id, secret); a new dashboard user signs in."""
    partner_id, client_id, client_secret = app
    email = f"bench-{uuid.uuid4().hex[:8]}@msp.example"
    user = subprocess.run(
        [*harness.BACKUPJOBS, "users", "create", "--partner", partner_id, "--email", email,
         "--json"],
        env=harness.environment(url), stdout=subprocess.PIPE, text=True, check=True,
    )  # fmt: skip
    password = re.search(r'"password": "([^"]+)"', user.stdout).group(1)
    with harness.backupjobs_server(url) as server:
        browser = signed_in(server.url, email, password)
        token = harness.token(server.url, client_id, client_secret)
        api = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        overview = timed(browser, "/dashboard", requests)
        summary = timed(api, "/api/v1/summary?limit=50", requests)
        weights = {
            "overview": weight(browser, "/dashboard"),
            "customer": weight(browser, first_customer(browser)),
        }
    return overview, summary, weights


def signed_in(url: str, email: str, password: str) -> httpx.Client:
    """A browser-like client signed in as ``email``, its one-time password changed."""
    browser = httpx.Client(base_url=url, timeout=60)
    chosen = "a benchmark's passphrase"
    for current in (password,):
        form = browser.get("/dashboard/sign-in").text
        browser.post(
            "/dashboard/sign-in", data={"csrf": csrf(form), "email": email, "password": current}
        )
        form = browser.get("/dashboard/account/password").text
        answer = browser.post(
            "/dashboard/account/password",
            data={"csrf": csrf(form), "current_password": current, "new_password": chosen,
                  "confirm_password": chosen},
        )  # fmt: skip
        assert answer.status_code == 303, answer.text
    return browser


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def timed(client: httpx.Client, path: str, count: int) -> list[float]:
    """Milliseconds of each of ``count`` sequential requests (after two to warm up)."""
    for _ in range(2):
        assert client.get(path).status_code == 200
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text[:300]
    return times


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def first_customer(client: httpx.Client) -> str:
    return re.search(
        r'href="(/dashboard/customers/[0-9a-f-]{36})"', client.get("/dashboard").text
    ).group(1)


def weight(client: httpx.Client, path: str) -> tuple[int, list[tuple[str, int]]]:
    """The page's HTML and the scripts and style sheets it loads, each gzipped."""
    html = client.get(path).text
    assets = re.findall(r'(?:src|href)="(/dashboard/static/[^"]+)"', html)
    parts = [(path, len(gzip.compress(html.encode(), 6)))]
    for asset in assets:
        body = client.get(asset)
        assert body.status_code == 200, asset
        parts.append((asset, len(gzip.compress(body.content, 6))))
    return sum(size for _, size in parts), parts


if __name__ == "__main__":
    main()
