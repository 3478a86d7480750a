"""Backup services: a service's key, and its state as the job pages show it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

#: A backup service of a customer: (customer id, jobType, jobModule).
ServiceKey = tuple[UUID, int, int]


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
