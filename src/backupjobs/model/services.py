"""Backup services: a service's key, its state as the job pages show it, and which of its
jobs is the latest.

A service's *latest* job has the greatest sort time, its ``startTime`` or, when it has none,
its ``lastModifyTime``; ties go to the greater jobId. One rule everywhere (v3, Modern,
history, health): :func:`latest_sort_key` here, ``store.schema.sort_time`` in SQL.

>>> from datetime import UTC, datetime
>>> finished = latest_sort_key(datetime(2026, 12, 1, 3, tzinfo=UTC), None, "b")
>>> reported_later_without_start = latest_sort_key(None, datetime(2026, 12, 2, tzinfo=UTC), "a")
>>> reported_later_without_start > finished
True
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

#: A backup service of a customer: (customer id, jobType, jobModule).
ServiceKey = tuple[UUID, int, int]


def latest_sort_key(
    start_time: datetime | None, last_modify_time: datetime, job_id: str
) -> tuple[datetime, str]:
    """The key by which a service's latest job is the greatest of its jobs."""
    return (start_time or last_modify_time, job_id)


class ServiceState(msgspec.Struct, frozen=True, gc=False):
    """A backup service and its latest job's fields; ``job_id`` None: it has never run
    (the placeholder row), as ``ServiceState(job_type, job_module)`` is.

    Never tracked by the garbage collector (``gc=False``: it holds no containers): each
    process caches tens of thousands of them, which every full collection would walk.
    """

    job_type: int
    job_module: int
    job_id: str | None = None
    status: int | None = None
    name: str | None = None
    total_count: int | None = None
    failed_count: int | None = None
    successful_count: int | None = None
    skipped_count: int | None = None
    warning_count: int | None = None
    backup_size_bytes: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    last_modify_time: datetime | None = None
