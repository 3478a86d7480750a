"""What a delivery posts: a Standard Webhooks event, or a Slack or Teams message.

>>> # body = render(event, customer_name="Contoso", format=WebhookFormat.SLACK, now=now)

The standard body (SPEC §10.5)::

    {"type": "job.failed", "timestamp": "2026-12-02T17:00:00.000Z",
     "data": {"incidentId": "...", "customer": {"id": "...", "name": "..."},
              "service": {"jobType": 7, "jobTypeName": "...", "jobModule": 304,
                          "jobModuleName": "..."},
              "job": {job record} | null}}

``slack``: an incoming webhook's ``{"text", "blocks"}``; ``teams``: a message with one
Adaptive Card, as Teams' incoming webhooks and workflows take it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from backupjobs.catalog import JOB_MODULES, JOB_TYPES
from backupjobs.model import JobRecord
from backupjobs.model.alerts import EventType, WebhookFormat
from backupjobs.model.durations import format_iso_duration
from backupjobs.store import webhooks
from backupjobs.wire.v1 import V1Job, format_instant, v1_job


class Customer(msgspec.Struct):
    id: UUID
    name: str


class Service(msgspec.Struct):
    jobType: int
    jobTypeName: str
    jobModule: int
    jobModuleName: str


class EventData(msgspec.Struct):
    incidentId: UUID | None
    customer: Customer | None
    service: Service | None
    job: V1Job | None
    #: service.stale: the threshold the service passed (ISO 8601).
    staleAfter: str | None = None


class EventBody(msgspec.Struct):
    type: str
    timestamp: str
    data: EventData


_job_decoder = msgspec.json.Decoder(JobRecord)


def event_body(
    event: webhooks.StoredEvent, *, customer_name: str | None, now: datetime
) -> EventBody:
    customer = service = job = None
    if event.customer_id is not None and customer_name is not None:
        customer = Customer(event.customer_id, customer_name)
    if event.job_type is not None and event.job_module is not None:
        service = Service(
            event.job_type,
            JOB_TYPES.require(event.job_type).display,
            event.job_module,
            JOB_MODULES.require(event.job_module).display,
        )
    if event.job is not None and customer_name is not None:
        record = _job_decoder.decode(event.job)
        row = msgspec.structs.asdict(record)
        row["customer_name"] = customer_name
        job = v1_job(row, now=now)
    stale_after = None
    if event.stale_after_seconds is not None:
        stale_after = format_iso_duration(timedelta(seconds=event.stale_after_seconds))
    return EventBody(
        type=event.type,
        timestamp=format_instant(event.created_at),
        data=EventData(event.incident_id, customer, service, job, stale_after),
    )


_HEADLINES = {
    EventType.JOB_FAILED: "Backup failed",
    EventType.JOB_WARNING: "Backup finished with warnings",
    EventType.SERVICE_STALE: "No successful backup",
    EventType.SERVICE_RECOVERED: "Backup recovered",
    EventType.PING: "Test event from backupjobs",
}


def _lines(body: EventBody) -> tuple[str, list[str]]:
    data = body.data
    headline = _HEADLINES[EventType(body.type)]
    lines: list[str] = []
    if data.customer is not None:
        lines.append(f"Customer: {data.customer.name}")
    if data.service is not None:
        lines.append(f"Service: {data.service.jobTypeName} / {data.service.jobModuleName}")
    if data.job is not None:
        job = data.job
        lines.append(f"Job: {job.name or job.jobId} ({job.statusName})")
        if job.failedCount:
            lines.append(f"Failed items: {job.failedCount}")
    if data.staleAfter is not None:
        lines.append(f"No successful job within {data.staleAfter}")
    if data.incidentId is not None:
        lines.append(f"Incident: {data.incidentId}")
    lines.append(f"Time: {body.timestamp}")
    return headline, lines


def render(body: EventBody, format: WebhookFormat) -> bytes:
    """The bytes to post for ``body`` in ``format``."""
    if format is WebhookFormat.STANDARD:
        return msgspec.json.encode(body)
    headline, lines = _lines(body)
    message: dict[str, Any]
    if format is WebhookFormat.SLACK:
        text = f"*{headline}*\n" + "\n".join(lines)
        message = {
            "text": f"{headline}: " + "; ".join(lines),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }
    else:
        message = {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {
                                "type": "TextBlock",
                                "text": headline,
                                "weight": "Bolder",
                                "size": "Medium",
                                "wrap": True,
                            },
                            *({"type": "TextBlock", "text": line, "wrap": True} for line in lines),
                        ],
                    },
                }
            ],
        }
    return msgspec.json.encode(message)
