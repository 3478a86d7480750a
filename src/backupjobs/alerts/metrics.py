"""The alerts' Prometheus series, registered in the application's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000)


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries_created = Counter(
            "backupjobs_webhook_deliveries_created",
            "Webhook deliveries made by alert events (one per event and subscription).",
            registry=registry,
        )
        self.attempts = Counter(
            "backupjobs_webhook_attempts",
            "Webhook delivery attempts, by outcome (delivered, error).",
            ["outcome"],
            registry=registry,
        )
        self.failed = Counter(
            "backupjobs_webhook_deliveries_failed",
            "Webhook deliveries given up after their last attempt (or a 410).",
            registry=registry,
        )
        self.latency = Histogram(
            "backupjobs_webhook_delivery_latency_seconds",
            "From an event's creation to its successful delivery.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "backupjobs_webhook_queue_depth",
            "Webhook deliveries pending (every process's), as last counted by this one.",
            multiprocess_mode="max",
            registry=registry,
        )
