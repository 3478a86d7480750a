"""Alerts (SPEC §10.5): event types, formats, and how a batch of jobs changes incidents.

>>> EventType.JOB_FAILED.bit | EventType.JOB_WARNING.bit
3
>>> job_event_type(3), job_event_type(4), job_event_type(2)
(<EventType.JOB_FAILED: 'job.failed'>, <EventType.JOB_WARNING: 'job.warning'>, None)

Pure: no I/O. The store applies these rules in the ingestion transaction and in stale
detection (:mod:`backupjobs.store.incidents`).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from backupjobs.catalog import FINISHED_WITH_EXCEPTION
from backupjobs.model.health import FAILED_STATUSES


class EventType(StrEnum):
    JOB_FAILED = "job.failed"
    JOB_WARNING = "job.warning"
    SERVICE_STALE = "service.stale"
    SERVICE_RECOVERED = "service.recovered"
    PING = "ping"

    @property
    def bit(self) -> int:
        """This type's bit in a subscription's event mask."""
        return 1 << _ORDER.index(self)


_ORDER = tuple(EventType)
#: The types a subscription may ask for (a ping goes to the one it tests, asked or not).
SUBSCRIBABLE: tuple[EventType, ...] = tuple(t for t in EventType if t is not EventType.PING)


def event_mask(types: Iterable[EventType]) -> int:
    mask = 0
    for event_type in types:
        mask |= event_type.bit
    return mask


def mask_types(mask: int) -> list[EventType]:
    """The subscribable types in ``mask``, in declaration order."""
    return [t for t in SUBSCRIBABLE if mask & t.bit]


class WebhookFormat(StrEnum):
    """What a delivery's body is: a Standard Webhooks event, or a chat message."""

    STANDARD = "standard"
    SLACK = "slack"
    TEAMS = "teams"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    #: Not sent: the customer left the subscription's app's tenant scope or its filter,
    #: or the subscription was disabled, before it was sent.
    SKIPPED = "skipped"


class IncidentCause(StrEnum):
    FAILED = "failed"
    STALE = "stale"


def job_event_type(status: int) -> EventType | None:
    """The event a job with ``status`` causes (once per job and type), if any."""
    if status in FAILED_STATUSES:
        return EventType.JOB_FAILED
    if status == FINISHED_WITH_EXCEPTION:
        return EventType.JOB_WARNING
    return None


def event_key(event_type: EventType, subject: str) -> str:
    """What makes an event once: its type and its cause (a jobId; an incident id, and
    for staleness the threshold passed)."""
    return f"{event_type.value}:{subject}"
