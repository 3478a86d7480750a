"""Prometheus metrics: requests by route and status, latency, jobs ingested, tokens, the
upstream sync's runs.

With several worker processes (``PROMETHEUS_MULTIPROC_DIR`` set, as ``backupjobs serve
--workers N`` does), ``/metrics`` sums every worker's figures. The upstream sync's series
are not a process's figures but the database's: every run recorded in ``sync_runs``,
whichever process ran it (``serve``'s workers, ``backupjobs sync run`` elsewhere), read
at scrape time (:class:`RecordedSyncRuns`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any
from uuid import UUID

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.alerts.metrics import AlertMetrics
from backupjobs.store.database import Database, database_unavailable
from backupjobs.store.upstreams import (
    RUNNING,
    SUCCEEDED,
    RecordedRun,
    oldest_running,
    run_totals_before,
    runs_since,
    upstream_keys,
)
from backupjobs.sync import RunOutcome

#: Scope key of headers that inner middleware want added to the response, whatever it is
#: (the rate limit fields): :meth:`Metrics.middleware` watches the response start anyway,
#: and one wrapper of ``send`` costs less than one each.
EXTRA_HEADERS = "backupjobs.extra_headers"

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


_log = structlog.get_logger("backupjobs.metrics")


#: A run that started longer ago than this, and has ended, is final: its figures are
#: added up once and never read again. (A run is recorded when it starts, in a
#: transaction of its own; this is also far above any clock skew between processes.)
SETTLED_AFTER = timedelta(hours=1)

# Per upstream: runs, rows read, jobs new, jobs updated, errors, by status.
_Figures = dict[str, list[int]]


@dataclass(slots=True)
class _Upstream:
    """What this process has added up of one upstream's final runs."""

    #: Runs that started before this are in ``settled`` (None: nothing added up yet).
    horizon: datetime | None = None
    settled: _Figures = field(default_factory=dict)
    last_success: datetime | None = None


async def _first_read(
    connection: AsyncConnection,
    keys: list[tuple[UUID, str, datetime]],
    now: datetime,
) -> dict[tuple[UUID, str, datetime], _Upstream]:
    """Upstreams not added up yet, with their final runs added up in the database: those
    started before :data:`SETTLED_AFTER` ago and before the upstream's oldest run still
    running."""
    running = await oldest_running(connection)
    new = {key: _Upstream() for key in keys}
    horizons: dict[tuple[UUID, str], datetime] = {}
    for key, upstream in new.items():
        upstream.horizon = min(now - SETTLED_AFTER, running.get(key[:2], now))
        horizons[key[:2]] = upstream.horizon
    by_name = {key[:2]: upstream for key, upstream in new.items()}
    for total in await run_totals_before(connection, horizons):
        upstream = by_name[(total.partner_id, total.upstream)]
        upstream.settled[total.status] = [
            total.runs,
            total.rows_read,
            total.jobs_new,
            total.jobs_updated,
            total.errors,
        ]
        if total.status == SUCCEEDED:
            upstream.last_success = total.last_ended_at
    return new


class RecordedSyncRuns:
    """A Prometheus collector of the upstream sync's series, from the runs recorded in the
    database whichever process ran them, as last read by :meth:`refresh`.

    >>> # await collector.refresh(db)      # at scrape time, then generate_latest(registry)

    Counters: runs ended by status, job rows read, jobs stored by outcome, errors (the
    running runs' progress included); a gauge: when each upstream's last succeeded run
    ended. A scrape reads the upstreams and each one's runs of the last
    :data:`SETTLED_AFTER` (or since its oldest run still running): older runs are final,
    added up once by this process (its first scrape, by one grouped read) and kept as
    sums, so that a scrape costs the same after years of runs. Removing an upstream removes its
    runs and its series.
    """

    def __init__(self) -> None:
        self._upstreams: dict[tuple[UUID, str, datetime], _Upstream] = {}
        self._shown: list[tuple[tuple[str, str], _Figures, datetime | None]] = []
        self._reading = asyncio.Lock()
        self._failing = False

    async def refresh(self, db: Database) -> None:
        """Read the runs recorded since the last ones added up. With the database
        unavailable, the last figures read stay (and that is logged once, not at every
        scrape)."""
        async with self._reading:
            now = datetime.now(UTC)
            try:
                async with db.read() as connection:
                    keys = await upstream_keys(connection)
                    known = {key: self._upstreams[key] for key in keys if key in self._upstreams}
                    new = [key for key in keys if key not in known]
                    if new:
                        known.update(await _first_read(connection, new, now))
                    runs = await runs_since(
                        connection, {key[:2]: upstream.horizon for key, upstream in known.items()}
                    )
            except Exception as error:
                if not database_unavailable(error):
                    raise
                if not self._failing:
                    self._failing = True
                    _log.warning("sync runs not read for /metrics", error=type(error).__name__)
                return
            self._failing = False
            self._upstreams = known
            self._shown = self._add_up(known, runs, now)

    @staticmethod
    def _add_up(
        kept: dict[tuple[UUID, str, datetime], _Upstream], runs: list[RecordedRun], now: datetime
    ) -> list[tuple[tuple[str, str], _Figures, datetime | None]]:
        by_upstream: dict[tuple[UUID, str], list[RecordedRun]] = {}
        for run in runs:
            by_upstream.setdefault((run.partner_id, run.upstream), []).append(run)
        shown = []
        for key, upstream in sorted(kept.items(), key=lambda item: (item[0][0].int, item[0][1])):
            its_runs = by_upstream.get(key[:2], [])
            settle_before = min(
                [
                    now - SETTLED_AFTER,
                    *(run.started_at for run in its_runs if run.status == RUNNING),
                ]
            )
            if upstream.horizon is not None and settle_before < upstream.horizon:
                settle_before = upstream.horizon  # the clock went back: settle nothing
            figures = {status: list(counts) for status, counts in upstream.settled.items()}
            last_success = upstream.last_success
            for run in its_runs:
                settled = run.started_at < settle_before
                for target in (upstream.settled, figures) if settled else (figures,):
                    counts = target.setdefault(run.status, [0, 0, 0, 0, 0])
                    counts[0] += 1
                    counts[1] += run.rows_read
                    counts[2] += run.jobs_new
                    counts[3] += run.jobs_updated
                    counts[4] += run.errors
                if run.status == SUCCEEDED and run.ended_at is not None:
                    if last_success is None or run.ended_at > last_success:
                        last_success = run.ended_at
                    if settled and (
                        upstream.last_success is None or run.ended_at > upstream.last_success
                    ):
                        upstream.last_success = run.ended_at
            upstream.horizon = settle_before
            shown.append(((str(key[0]), key[1]), figures, last_success))
        return shown

    def describe(self) -> Iterable[Metric]:
        return self._families([])

    def collect(self) -> Iterable[Metric]:
        return self._families(self._shown)

    @staticmethod
    def _families(
        shown: Iterable[tuple[tuple[str, str], _Figures, datetime | None]],
    ) -> list[Metric]:
        upstream = ["partner", "upstream"]
        runs = CounterMetricFamily(
            "backupjobs_sync_runs",
            "Upstream sync runs ended (as recorded by every process), by upstream and status.",
            labels=[*upstream, "status"],
        )
        rows = CounterMetricFamily(
            "backupjobs_sync_rows_read", "Job rows read from upstreams.", labels=upstream
        )
        stored = CounterMetricFamily(
            "backupjobs_sync_jobs",
            "Jobs stored by upstream sync, by outcome (new, updated).",
            labels=[*upstream, "outcome"],
        )
        errors = CounterMetricFamily(
            "backupjobs_sync_errors",
            "Errors recorded by upstream sync runs (a customer's read, a row, a run).",
            labels=upstream,
        )
        last_success = GaugeMetricFamily(
            "backupjobs_sync_last_success_timestamp_seconds",
            "When an upstream's last run that read every customer ended (Unix time).",
            labels=upstream,
        )
        for labels, figures, succeeded_at in shown:
            if not figures:
                continue
            total = [0, 0, 0, 0, 0]
            for status, counts in sorted(figures.items()):
                if status != RUNNING:
                    runs.add_metric([*labels, status], counts[0])
                total = [a + b for a, b in zip(total, counts, strict=True)]
            rows.add_metric(list(labels), total[1])
            stored.add_metric([*labels, "new"], total[2])
            stored.add_metric([*labels, "updated"], total[3])
            errors.add_metric(list(labels), total[4])
            if succeeded_at is not None:
                last_success.add_metric(list(labels), succeeded_at.timestamp())
        return [runs, rows, stored, errors, last_success]


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "backupjobs_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "backupjobs_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.jobs_ingested = Counter(
            "backupjobs_jobs_ingested",
            "Job records received by ingestion, by outcome (stored, stale, rejected).",
            ["outcome"],
            registry=self.registry,
        )
        self.alerts = AlertMetrics(self.registry)
        self.tokens = Counter(
            "backupjobs_tokens",
            "Token requests, by outcome (issued or the OAuth2 error code).",
            ["outcome"],
            registry=self.registry,
        )

        #: The upstream sync's series, read from the runs recorded in the database.
        self.sync = RecordedSyncRuns()
        self.registry.register(self.sync)

    def sync_run(self, outcome: RunOutcome) -> None:
        """Told of each sync run of this process that ended: nothing to count, the run is
        recorded in the database, where every scrape reads it (:class:`RecordedSyncRuns`)."""

    async def read_recorded(self, db: Database) -> None:
        """Read what the series kept in the database show (before :meth:`render`)."""
        await self.sync.refresh(db)

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            # Read from the database: the same in every worker, never summed across them.
            registry.register(self.sync)
            return generate_latest(registry)
        return generate_latest(self.registry)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """ASGI middleware recording each request's route, status and duration; it adds
        the response headers of ``scope[EXTRA_HEADERS]``. The outermost of ours."""
        requests = self.requests
        latency = self.latency
        # The labelled series by (route, method, status), looked up once each: labels()
        # costs more than the increments.
        series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

        async def record(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            started = perf_counter()
            status = 500

            async def send_recording_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    extra: Sequence[tuple[bytes, bytes]] = scope.get(EXTRA_HEADERS, ())  # type: ignore[assignment]
                    if extra:
                        message["headers"] = [*message.get("headers", ()), *extra]
                await send(message)

            try:
                await app(scope, receive, send_recording_status)
            finally:
                key = (scope.get("path_template") or "unmatched", scope.get("method", ""), status)
                found = series.get(key)
                if found is None:
                    route, method, _ = key
                    found = series[key] = (
                        requests.labels(route, method, str(status)),
                        latency.labels(route, method),
                    )
                found[0].inc()
                found[1].observe(perf_counter() - started)

        return record
