"""Alerts: what the outbox costs ingestion, how fast an event reaches its receiver, how a
receiver's outage is caught up, and what an event costs the CPU.

    python -m bench.alerts                    # all four, PostgreSQL, 2 workers
    python -m bench.alerts --parts ingestion --rounds 3 --reference c7244db

1. Ingestion throughput (``bench.ingest``'s load: a simulated tenant's recent history,
   about 3.7 % failed jobs, batches of 1,000, 4 clients) with a ``job.failed``
   subscription and its receiver, beside the same load without a subscription (what the
   outbox costs) and with one on the ``--reference`` git revision (default ``main``'s
   merge base, run from a copy of its ``src``: what a change did), rounds alternating.
   Each run also gives the CPU seconds PostgreSQL, the server processes and this process
   (the clients and the receiver) used while posting, which the machine's drift moves
   less than the throughput. Target: >= 20,000 jobs/s with alerts.
2. Latency from the ingestion answer to the receiver getting the event, while 200 failing
   jobs a second are ingested through two server processes (PostgreSQL). Target: p99 <= 1 s.
3. A receiver down (connections refused) for ``--outage`` seconds while 20 jobs a second
   fail, then up while they go on failing for 10 s more: every event delivered, none under
   two ids or twice; time from the receiver's return to the last delivery. Target:
   drained within 2 minutes.
4. The CPU a ``job.failed`` event costs: ``--events`` failed jobs, 100 a batch, through
   one server process with a subscription and without (``--rounds`` of each,
   alternating): the server's and PostgreSQL's CPU per job without, and what the event
   adds (the outbox, the delivery, its outcome). No target: what the others are made of.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tests.processes import free_port

from bench import harness
from bench.ingest import bodies, post_all

TARGET_JOBS_PER_SECOND = 20_000
TARGET_P99_SECONDS = 1.0
TARGET_DRAIN_SECONDS = 120
_SEED = 7


class Receiver:
    """A webhook receiver on an event loop of its own, in a thread: the arrival time of
    each delivery by its event id, and its body.

    It stands for a PSA on another machine, so it takes as little of this machine's two
    cores as it can: HTTP/1.1 read by hand (the headers it needs, then Content-Length
    bytes), 204 answered, bodies decoded after the run. ``http.server`` (a thread per
    connection, each request's headers parsed as e-mail) took about a fifth of what the
    webhook cost the ingestion round in all (``docs/scaling.md``)."""

    def __init__(self, port: int = 0) -> None:
        self.arrivals: dict[str, float] = {}
        self.bodies: dict[str, bytes] = {}
        self.duplicates = 0
        self.lock = threading.Lock()
        self.connections: set[asyncio.Transport] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            self._loop.create_server(lambda: _Receiving(self), "127.0.0.1", port), self._loop
        ).result()
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def arrived(self, event_id: str, body: bytes) -> None:
        at = time.monotonic()
        with self.lock:
            if event_id in self.arrivals:
                self.duplicates += 1
            else:
                self.arrivals[event_id] = at
                self.bodies[event_id] = body

    @property
    def job_of(self) -> dict[str, str]:
        """Each event's jobId ("" for an event of no job)."""
        with self.lock:
            bodies = dict(self.bodies)
        return {
            event_id: (json.loads(body)["data"]["job"] or {}).get("jobId", "")
            for event_id, body in bodies.items()
        }

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for transport in self.connections:
                transport.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class _Receiving(asyncio.Protocol):
    """One connection to the :class:`Receiver`: requests one after another (kept alive)."""

    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._receiver.connections.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        assert self._transport is not None
        self._receiver.connections.discard(self._transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end])
            length = int(_header(head, b"content-length") or 0)
            if len(self._buffer) < end + 4 + length:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            self._receiver.arrived(_header(head, b"webhook-id").decode(), body)
            assert self._transport is not None
            self._transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")


def _header(head: bytes, name: bytes) -> bytes:
    """The value of the header ``name`` (lower case) in a request's ``head``; b"" if none."""
    start = head.lower().find(b"\r\n" + name + b":")
    if start < 0:
        return b""
    start += len(name) + 3
    end = head.find(b"\r\n", start)
    return head[start : end if end >= 0 else len(head)].strip()


@contextmanager
def reference_source(revision: str) -> Iterator[Path]:
    """The ``src`` folder of ``revision``, extracted from git into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="backupjobs-reference-") as folder:
        archive = Path(folder) / "src.tar"
        subprocess.run(
            ["git", "archive", "--format=tar", "-o", str(archive), revision, "src"],
            cwd=harness.ROOT,
            check=True,
        )
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder) / "src"


def _simulate(
    database_url: str, customers: int, now: datetime, env: dict[str, str]
) -> dict[str, Any]:
    done = subprocess.run(
        [
            *harness.BACKUPJOBS,
            "simulate",
            f"--customers={customers}",
            "--days=1",
            f"--seed={_SEED}",
            f"--now={now.strftime('%Y-%m-%dT%H:%M:%S')}",
            "--json",
        ],
        env={**harness.environment(database_url), **env},
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _subscribe(url: str, access_token: str, receiver: str, events: list[str]) -> None:
    answer = httpx.post(
        f"{url}/api/v1/webhooks",
        json={"url": receiver, "events": events},
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=30,
    )
    answer.raise_for_status()


def ingestion_round(args: Any, *, reference: Path | None, subscribe: bool = True) -> float:
    """Jobs per second, on a fresh PostgreSQL database, with this code or ``reference``'s
    (``subscribe``: and a job.failed subscription whose receiver gets the events)."""
    env = {"PYTHONPATH": str(reference)} if reference else {}
    env["BACKUPJOBS_WEBHOOK_ALLOW_PRIVATE"] = "true"
    now = datetime.now(UTC).replace(microsecond=0)
    batches, _ = bodies(args.customers, args.days, now)
    receiver = Receiver()
    try:
        with harness.postgres_database() as database_url:
            tenant = _simulate(
                database_url, args.customers, now - timedelta(days=args.days + 2), env
            )
            with harness.backupjobs_server(database_url, workers=args.workers, **env) as server:
                access_token = harness.token(server.url, tenant["clientId"], tenant["clientSecret"])
                if subscribe:
                    _subscribe(server.url, access_token, receiver.url, ["job.failed"])
                asyncio.run(post_all(server.url, access_token, batches[:1], 1))
                posted = asyncio.run(
                    post_all(
                        server.url,
                        access_token,
                        batches[1:],
                        args.clients,
                        workers=server.worker_pids(),
                    )
                )
                used = harness.cpu_used(posted.cpu_before)
                split = harness.server_split(posted.cpu_before)
                if subscribe:
                    time.sleep(2)  # deliveries still in flight
    finally:
        receiver.close()
    totals, seconds = posted.totals, posted.seconds
    rate = totals["stored"] / seconds
    delivered = f", {len(receiver.arrivals):,} job.failed events delivered" if subscribe else ""
    what = ("the reference" if reference else "this code") + (
        ", a webhook" if subscribe else ", no webhook"
    )
    print(f"  {what}: {totals['stored']:,} jobs in {seconds:.1f} s, {rate:,.0f} jobs/s{delivered}")
    print(f"    CPU while posting: {harness.describe_cpu(used, split)}")
    return rate


def _failing_batches(
    prefix: str, customers: list[str], total: int, size: int = 10
) -> Iterator[list[dict[str, Any]]]:
    """``total`` failed jobs across the customers' services, ``size`` a batch."""
    count = 0
    while count < total:
        batch = []
        for _ in range(min(size, total - count)):
            customer = customers[count % len(customers)]
            stamp = datetime.now(UTC).isoformat()
            batch.append(
                {
                    "jobId": f"{prefix}-{count}",
                    "customerId": customer,
                    "jobType": 7,
                    "jobModule": 304 + count % 3,
                    "status": 3,
                    "startTime": stamp,
                    "endTime": stamp,
                    "lastModifyTime": stamp,
                }
            )
            count += 1
        yield batch


def drive(
    tokens: dict[str, str],
    customers: list[str],
    per_second: int,
    seconds: float,
    prefix: str = "bench",
) -> dict[str, float]:
    """Post failed jobs at ``per_second`` across the servers (``tokens``: each one's
    access token, by URL: a token's audience is its server); the answer time of each."""
    answered: dict[str, float] = {}
    refused: list[int] = []
    interval = 10 / per_second
    urls = list(tokens)

    async def run() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            tasks = []
            start = time.monotonic()
            for number, batch in enumerate(
                _failing_batches(prefix, customers, int(per_second * seconds))
            ):
                delay = start + number * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)

                async def post(batch: list[dict[str, Any]], url: str) -> None:
                    answer = await http.post(
                        f"{url}/api/v1/ingest/jobs",
                        json=batch,
                        headers={"Authorization": f"Bearer {tokens[url]}"},
                    )
                    if answer.status_code != 200:  # an overloaded server's 503: counted
                        refused.append(answer.status_code)
                        return
                    at = time.monotonic()
                    for record in batch:
                        answered[record["jobId"]] = at

                tasks.append(asyncio.create_task(post(batch, urls[number % len(urls)])))
            await asyncio.gather(*tasks)

    asyncio.run(run())
    if refused:
        print(f"  ({len(refused)} requests of 10 jobs refused: {sorted(set(refused))})")
    return answered


def _two_servers(
    stack: ExitStack, database_url: str
) -> tuple[list[Any], dict[str, str], list[str]]:
    tenant = _simulate(database_url, 20, datetime.now(UTC) - timedelta(days=3), {})
    servers = [
        stack.enter_context(
            harness.backupjobs_server(database_url, BACKUPJOBS_WEBHOOK_ALLOW_PRIVATE="true")
        )
        for _ in range(2)
    ]
    tokens = {
        server.url: harness.token(server.url, tenant["clientId"], tenant["clientSecret"])
        for server in servers
    }
    return servers, tokens, harness.customer_ids(servers[0].url, tokens[servers[0].url])


def latency(args: Any) -> tuple[float, float, int]:
    receiver = Receiver()
    try:
        with harness.postgres_database() as database_url, ExitStack() as stack:
            servers, tokens, customers = _two_servers(stack, database_url)
            _subscribe(servers[0].url, tokens[servers[0].url], receiver.url, ["job.failed"])
            answered = drive(tokens, customers, args.rate, args.seconds)
            deadline = time.monotonic() + 30
            while len(receiver.arrivals) < len(answered) and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        receiver.close()
    waits = sorted(
        max(receiver.arrivals[event] - answered[job], 0)
        for event, job in receiver.job_of.items()
        if job in answered
    )
    p50 = statistics.median(waits)
    p99 = waits[int(len(waits) * 0.99) - 1]
    print(
        f"  {len(answered):,} failed jobs at {args.rate}/s through 2 processes: "
        f"{len(waits):,} events received, latency p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms, duplicates {receiver.duplicates}"
    )
    return p50, p99, len(answered) - len(waits)


def outage(args: Any) -> tuple[int, int, int, float]:
    port = free_port()
    with harness.postgres_database() as database_url, ExitStack() as stack:
        servers, tokens, customers = _two_servers(stack, database_url)
        down = f"http://127.0.0.1:{port}/hook"
        _subscribe(servers[0].url, tokens[servers[0].url], down, ["job.failed"])
        # Down: nothing listens on the port while jobs fail.
        answered = drive(tokens, customers, 20, args.outage)
        receiver = Receiver(port)
        back = time.monotonic()
        # Jobs go on failing after its return: 10 s more at the same rate.
        answered |= drive(tokens, customers, 20, 10, prefix="after")
        try:
            deadline = back + 300
            while len(receiver.arrivals) < len(answered) and time.monotonic() < deadline:
                time.sleep(0.2)
            drained = max(receiver.arrivals.values(), default=back) - back
            time.sleep(3)  # a duplicate would arrive meanwhile
        finally:
            receiver.close()
    jobs = list(receiver.job_of.values())
    twice = len(jobs) - len(set(jobs))
    print(
        f"  receiver down {args.outage:.0f} s while {len(answered):,} jobs failed; back up: "
        f"{len(receiver.arrivals):,} events received in {drained:.1f} s, "
        f"{receiver.duplicates} repeated ids, {twice} jobs under two ids"
    )
    return len(answered), len(receiver.arrivals), receiver.duplicates + twice, drained


def _events_run(args: Any, *, subscribe: bool) -> dict[str, float]:
    """CPU seconds by group while ``args.events`` failed jobs are posted, 100 a batch, 2
    requests in flight, to one server process (and, ``subscribe``: until the receiver has
    every event)."""
    receiver = Receiver()
    env = {"BACKUPJOBS_WEBHOOK_ALLOW_PRIVATE": "true"}
    try:
        with harness.postgres_database() as database_url:
            tenant = _simulate(database_url, 50, datetime.now(UTC) - timedelta(days=3), env)
            with harness.backupjobs_server(database_url, **env) as server:
                access_token = harness.token(server.url, tenant["clientId"], tenant["clientSecret"])
                if subscribe:
                    _subscribe(server.url, access_token, receiver.url, ["job.failed"])
                customers = harness.customer_ids(server.url, access_token)
                warm = [json.dumps(b).encode() for b in _failing_batches("warm", customers, 300)]
                asyncio.run(post_all(server.url, access_token, warm, 1))
                bodies = [
                    json.dumps(batch).encode()
                    for batch in _failing_batches("bench", customers, args.events, 100)
                ]
                time.sleep(1)  # the warm-up's deliveries out of the way
                cpu = asyncio.run(post_all(server.url, access_token, bodies, 2)).cpu_before
                deadline = time.monotonic() + 60
                wanted = args.events + len(warm) * 10
                while subscribe and len(receiver.arrivals) < wanted:
                    assert time.monotonic() < deadline, "events missing"
                    time.sleep(0.05)
                return harness.cpu_used(cpu)
    finally:
        receiver.close()


def events(args: Any) -> tuple[dict[str, float], dict[str, float]]:
    """CPU per failed job with no subscription, and what a job.failed event adds to it,
    in microseconds by group (medians over ``args.rounds`` alternating runs)."""
    plain: dict[str, list[float]] = {}
    added: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        quiet = _events_run(args, subscribe=False)
        heard = _events_run(args, subscribe=True)
        for group in ("server", "PostgreSQL"):
            job = quiet.get(group, 0.0) / args.events * 1e6
            event = (heard.get(group, 0.0) - quiet.get(group, 0.0)) / args.events * 1e6
            plain.setdefault(group, []).append(job)
            added.setdefault(group, []).append(event)
            print(f"  {group}: a failed job {job:.0f} us, and its event {event:.0f} us more")
    return (
        {group: statistics.median(values) for group, values in plain.items()},
        {group: statistics.median(values) for group, values in added.items()},
    )


PARTS = ("ingestion", "latency", "outage", "events")


def _paired(runs: list[float], references: list[float]) -> str:
    """The median and range of each round's ratio: a round's three runs follow each
    other within a minute, where this machine's speed was seen to drift by a quarter
    over half an hour, so that the medians of a whole run can disagree with each
    round's verdict."""
    ratios = sorted(
        run / max(reference, 1) for run, reference in zip(runs, references, strict=True)
    )
    return f"{statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})"


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200, help="tenant size (ingestion)")
    parser.add_argument("--days", type=int, default=30, help="days of jobs posted")
    parser.add_argument("--clients", type=int, default=4, help="requests in flight")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers")
    parser.add_argument("--rounds", type=int, default=2, help="ingestion rounds of each")
    parser.add_argument("--reference", default="", help="git revision to compare with")
    parser.add_argument("--rate", type=int, default=200, help="failed jobs a second")
    parser.add_argument("--seconds", type=float, default=20, help="latency run length")
    parser.add_argument("--outage", type=float, default=60, help="receiver down, seconds")
    parser.add_argument("--events", type=int, default=10_000, help="failed jobs (events)")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"which to run, of {', '.join(PARTS)}"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    reference = args.reference or subprocess.run(
        ["git", "merge-base", "HEAD", "main"],
        cwd=harness.ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    print(f"bench.alerts on {harness.conditions()}")
    lines = []
    if "ingestion" in parts:
        print(f"1. ingestion, PostgreSQL, {args.workers} workers (reference: {reference[:12]})")
        with reference_source(reference) as source:
            before, unsubscribed, after = [], [], []
            for number in range(args.rounds):
                # Each round in another order: a round right after another (whose database
                # was just dropped) runs slower, whatever the code.
                runs = [
                    lambda: before.append(ingestion_round(args, reference=source)),
                    lambda: unsubscribed.append(
                        ingestion_round(args, reference=None, subscribe=False)
                    ),
                    lambda: after.append(ingestion_round(args, reference=None)),
                ]
                for run in runs[number % 3 :] + runs[: number % 3]:
                    run()
        # (At least 1 job/s: a tiny run posts nothing after its warm-up batch.)
        with_alerts = statistics.median(after)
        quiet = max(statistics.median(unsubscribed), 1)
        earlier = max(statistics.median(before), 1)
        verdict = harness.verdict(with_alerts, TARGET_JOBS_PER_SECOND)
        lines.append(
            f"  ingestion with alerts: {with_alerts:,.0f} jobs/s, without a webhook: "
            f"{quiet:,.0f} jobs/s: {with_alerts / quiet:.2f}x (target >= "
            f"{TARGET_JOBS_PER_SECOND:,}: {verdict}); the reference with a webhook: "
            f"{earlier:,.0f} jobs/s (this code {with_alerts / earlier:.2f}x)"
        )
        lines.append(
            f"  the same, round by round: {_paired(after, unsubscribed)} of no webhook, "
            f"{_paired(after, before)} of the reference"
        )
    if "latency" in parts:
        print("2. latency")
        _, p99, missing = latency(args)
        lines.append(
            f"  latency p99 {p99 * 1000:.0f} ms, {missing} events missing (target <= "
            f"{TARGET_P99_SECONDS * 1000:.0f} ms: "
            f"{harness.verdict(p99, TARGET_P99_SECONDS, higher_is_better=False)})"
        )
    if "outage" in parts:
        print("3. a receiver's outage")
        sent, received, repeated, drained = outage(args)
        lines.append(
            f"  outage: {received:,}/{sent:,} delivered, {repeated} repeated, drained in "
            f"{drained:.1f} s (target <= {TARGET_DRAIN_SECONDS} s: "
            f"{harness.verdict(drained, TARGET_DRAIN_SECONDS, higher_is_better=False)})"
        )
    if "events" in parts:
        print("4. CPU per event")
        plain, added = events(args)
        lines.append(
            f"  CPU per failed job, one server process, batches of 100: server "
            f"{plain['server']:.0f} us and PostgreSQL {plain['PostgreSQL']:.0f} us with no "
            f"subscription; a job.failed event adds {added['server']:.0f} us and "
            f"{added['PostgreSQL']:.0f} us"
        )
    print("\nresults:")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
