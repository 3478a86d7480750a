"""Prometheus metrics: requests by route and status, latency, jobs ingested, tokens.

With several worker processes (``PROMETHEUS_MULTIPROC_DIR`` set, as ``backupjobs serve
--workers N`` does), ``/metrics`` sums every worker's figures.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from time import perf_counter
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from backupjobs.alerts.metrics import AlertMetrics
from backupjobs.store.upstreams import SUCCEEDED
from backupjobs.sync import RunOutcome

#: Scope key of headers that inner middleware want added to the response, whatever it is
#: (the rate limit fields): :meth:`Metrics.middleware` watches the response start anyway,
#: and one wrapper of ``send`` costs less than one each.
EXTRA_HEADERS = "backupjobs.extra_headers"

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


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

        upstream = ["partner", "upstream"]
        self.sync_runs = Counter(
            "backupjobs_sync_runs",
            "Upstream sync runs ended, by upstream and status.",
            [*upstream, "status"],
            registry=self.registry,
        )
        self.sync_rows = Counter(
            "backupjobs_sync_rows_read",
            "Job rows read from upstreams.",
            upstream,
            registry=self.registry,
        )
        self.sync_jobs = Counter(
            "backupjobs_sync_jobs",
            "Jobs stored by upstream sync, by outcome (new, updated).",
            [*upstream, "outcome"],
            registry=self.registry,
        )
        self.sync_errors = Counter(
            "backupjobs_sync_errors",
            "Errors recorded by upstream sync runs (a customer's read, a row, a run).",
            upstream,
            registry=self.registry,
        )
        self.sync_last_success = Gauge(
            "backupjobs_sync_last_success_timestamp_seconds",
            "When an upstream's last run that read every customer ended (Unix time).",
            upstream,
            multiprocess_mode="max",
            registry=self.registry,
        )

    def sync_run(self, outcome: RunOutcome) -> None:
        """Count a sync run that ended."""
        labels = (str(outcome.upstream.partner_id), outcome.upstream.name)
        counts = outcome.counts
        self.sync_runs.labels(*labels, outcome.status).inc()
        self.sync_rows.labels(*labels).inc(counts.rows_read)
        self.sync_jobs.labels(*labels, "new").inc(counts.jobs_new)
        self.sync_jobs.labels(*labels, "updated").inc(counts.jobs_updated)
        self.sync_errors.labels(*labels).inc(counts.errors)
        if outcome.status == SUCCEEDED:
            self.sync_last_success.labels(*labels).set(outcome.ended_at.timestamp())

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
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
