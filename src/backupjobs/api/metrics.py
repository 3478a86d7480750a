"""Prometheus metrics: requests by route and status, latency, jobs ingested, tokens, the
upstream sync's runs.

With several worker processes (``PROMETHEUS_MULTIPROC_DIR`` set, as ``backupjobs serve
--workers N`` does), ``/metrics`` sums every worker's figures. The upstream sync's series
are not a process's figures but the database's: every run recorded in ``sync_runs``,
whichever process ran it (``serve``'s workers, ``backupjobs sync run`` elsewhere), read
at scrape time (:class:`RecordedSyncRuns`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from time import perf_counter
from typing import Any

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

from backupjobs.alerts.metrics import AlertMetrics
from backupjobs.store.database import Database, database_unavailable
from backupjobs.store.upstreams import RUNNING, SUCCEEDED, RunTotals, run_totals
from backupjobs.sync import RunOutcome

#: Scope key of headers that inner middleware want added to the response, whatever it is
#: (the rate limit fields): :meth:`Metrics.middleware` watches the response start anyway,
#: and one wrapper of ``send`` costs less than one each.
EXTRA_HEADERS = "backupjobs.extra_headers"

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


_log = structlog.get_logger("backupjobs.metrics")


class RecordedSyncRuns:
    """A Prometheus collector of the upstream sync's series, from the runs recorded in the
    database (:func:`backupjobs.store.upstreams.run_totals`: one grouped read of
    ``sync_runs``), as last read by :meth:`refresh`.

    >>> # await collector.refresh(db)      # at scrape time, then generate_latest(registry)

    Counters: runs ended by status, job rows read, jobs stored by outcome, errors (the
    running runs' progress included); a gauge: when each upstream's last succeeded run
    ended. Removing an upstream removes its runs and so its series.
    """

    def __init__(self) -> None:
        self._totals: list[RunTotals] = []
        self._failing = False

    async def refresh(self, db: Database) -> None:
        """Read the recorded runs. With the database unavailable, the last figures read
        stay (and that is logged once, not at every scrape)."""
        try:
            async with db.read() as connection:
                self._totals = await run_totals(connection)
        except Exception as error:
            if not database_unavailable(error):
                raise
            if not self._failing:
                self._failing = True
                _log.warning("sync runs not read for /metrics", error=type(error).__name__)
            return
        self._failing = False

    def describe(self) -> Iterable[Metric]:
        return self._families([])

    def collect(self) -> Iterable[Metric]:
        return self._families(self._totals)

    @staticmethod
    def _families(totals: Iterable[RunTotals]) -> list[Metric]:
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
        by_upstream: dict[tuple[str, str], list[int]] = {}
        for total in totals:
            labels = [str(total.partner_id), total.upstream]
            if total.status != RUNNING:
                runs.add_metric([*labels, total.status], total.runs)
            if total.status == SUCCEEDED and total.last_ended_at is not None:
                last_success.add_metric(labels, total.last_ended_at.timestamp())
            summed = by_upstream.setdefault((labels[0], labels[1]), [0, 0, 0, 0])
            for index, value in enumerate(
                (total.rows_read, total.jobs_new, total.jobs_updated, total.errors)
            ):
                summed[index] += value
        for (partner, name), (read, new, updated, failed) in by_upstream.items():
            rows.add_metric([partner, name], read)
            stored.add_metric([partner, name, "new"], new)
            stored.add_metric([partner, name, "updated"], updated)
            errors.add_metric([partner, name], failed)
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
