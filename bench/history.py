"""Job page latency against history: p50 with 50 days of it against p50 with 1 day.

    python -m bench.history                 # 2,000 customers with 50 days, 2,000 with 1

One PostgreSQL database, two simulated partners of the same size (different seeds): one
with long history, one with a day of it. One ``backupjobs serve`` worker; wrk loads each
partner's job pages in turn, at the same moderate load, several rounds. Target: p50 with
the long history within 1.2x of p50 with the short one.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import harness

TARGET_RATIO = 1.2
TOKENS = 10


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--long-days", type=int, default=50)
    parser.add_argument("--short-days", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8, help="a moderate load")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"bench.history on {harness.conditions()}")
    with harness.postgres_database() as url:
        partners = {}
        for days, seed in ((args.long_days, 1), (args.short_days, 2)):
            simulated = harness.simulate(url, args.customers, days, seed=seed)
            partners[days] = simulated
            print(f"  {days} days: {simulated.jobs:,} jobs ({simulated.seconds:.0f} s to simulate)")
        p50 = measure(url, partners, args)
    long_p50 = statistics.median(p50[args.long_days])
    short_p50 = statistics.median(p50[args.short_days])
    ratio = long_p50 / short_p50
    print(
        f"\nwrk -c{args.connections}, medians of {args.rounds} rounds: p50 "
        f"{long_p50:.2f} ms with {args.long_days} days of history, {short_p50:.2f} ms with "
        f"{args.short_days}; ratio {ratio:.2f} (target <= {TARGET_RATIO}: "
        f"{harness.verdict(ratio, TARGET_RATIO, higher_is_better=False)})"
    )


def measure(url: str, partners: dict[int, Any], args: Any) -> dict[int, list[float]]:
    p50: dict[int, list[float]] = {days: [] for days in partners}
    with harness.backupjobs_server(url) as server:
        loads = {}
        for days, simulated in partners.items():
            tokens = [
                harness.token(server.url, simulated.client_id, simulated.client_secret)
                for _ in range(TOKENS)
            ]
            loads[days] = {
                "method": "POST",
                "path_template": harness.V3_JOBS,
                "customers": harness.customer_ids(server.url, tokens[0]),
                "tokens": tokens,
                "connections": args.connections,
            }
            harness.wrk(server.url, seconds=min(5, args.seconds), **loads[days])  # warm up
        for round_number in range(1, args.rounds + 1):
            for days, load in loads.items():
                result = harness.wrk(server.url, seconds=args.seconds, **load)
                if result.non_2xx or result.errors:
                    raise SystemExit(f"failed requests: {result.describe()}")
                p50[days].append(result.latency_ms["50%"])
                print(f"  round {round_number}, {days} days of history: {result.describe()}")
    return p50


if __name__ == "__main__":
    main()
