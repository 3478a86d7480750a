"""What needs attention: a service whose latest job failed, is stale, or that never ran.

The rules read only what either API generation gives, so that ``client attention`` works
against any wire-compatible service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from backupjobs.cli.client.rows import NEVER_RUN, job_row
from backupjobs.sdk import Customer, Job

#: Statuses that count as failed unless --status says otherwise.
FAILED_STATUSES = ("Failed", "ErrorStart")
#: Reasons, most urgent first: a row is sorted by its first.
_URGENCY = {"failed": 0, "stale": 1, NEVER_RUN: 2}


def attention_reasons(
    job: Job, *, now: datetime, stale_after: timedelta, failed: frozenset[int]
) -> list[str]:
    """Why a service needs attention: ``failed`` (its latest job's status is one of
    ``failed``), ``stale`` (its latest job started more than ``stale_after`` ago, or, not
    started, was last modified that long ago) or ``never run``; empty if it is fine."""
    if not job.has_run:
        return [NEVER_RUN]
    reasons = []
    if job.status.code in failed:
        reasons.append("failed")
    latest = job.start_time or job.last_modify_time
    if latest is None or now - latest > stale_after:
        reasons.append("stale")
    return reasons


def attention_rows(
    found: Sequence[tuple[Customer, list[Job]]],
    *,
    now: datetime,
    stale_after: timedelta,
    failed: frozenset[int],
) -> list[dict[str, Any]]:
    """The services of ``found`` that need attention, as rows with their reasons and age:
    failures first, then stale services, then those never run; then by customer name,
    job type and module."""
    rows = []
    for owner, services in found:
        for job in services:
            reasons = attention_reasons(job, now=now, stale_after=stale_after, failed=failed)
            if reasons:
                rows.append(_attention_row(owner, job, reasons, now))
    rows.sort(
        key=lambda row: (
            _URGENCY[row["reasons"][0]],
            (row["customerName"] or "").casefold(),
            row["jobTypeCode"] if row["jobTypeCode"] is not None else -1,
            row["jobModuleCode"] if row["jobModuleCode"] is not None else -1,
        )
    )
    return rows


def _attention_row(
    customer: Customer, job: Job, reasons: list[str], now: datetime
) -> dict[str, Any]:
    latest = job.start_time or job.last_modify_time
    age = None if latest is None else max(int((now - latest).total_seconds()), 0)
    return {
        "customerName": customer.name,
        **job_row(job),
        "reasons": reasons,
        "ageSeconds": age,
    }
