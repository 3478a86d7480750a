"""Reading the wire formats of both API generations into typed values.

>>> parse_size("1.5 GB")
1610612736
>>> parse_duration("2h0m5s")
datetime.timedelta(seconds=7205)
>>> parse_time("2025-09-11T03:21:16Z")
datetime.datetime(2025, 9, 11, 3, 21, 16, tzinfo=datetime.timezone.utc)
>>> parse_time("N/A") is None
True

Each parser takes the JSON member's name for its error: a value that is not in the
documented format is a :class:`~backupjobs.sdk.errors.WireFormatError` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from backupjobs.catalog import (
    CUSTOMER_JOB_STATUSES,
    JOB_MODULES,
    JOB_TYPES,
    MANAGEMENT_MODES,
    NOT_FINISHED,
    STATUSES,
    CodeTable,
)
from backupjobs.sdk.errors import WireFormatError
from backupjobs.sdk.records import Coded, Customer, Job, Tenant

NOT_AVAILABLE = "N/A"

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGTP]?B)", re.IGNORECASE)
_SIZE_UNITS = {"B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", NOT_AVAILABLE))


def parse_text(value: object, field: str = "value") -> str | None:
    """A string member; ``"N/A"`` and empty are None."""
    if _missing(value):
        return None
    if not isinstance(value, str):
        raise WireFormatError(field, value, "a string")
    return value


def parse_count(value: object, field: str = "count") -> int | None:
    """A count: a JSON integer or a string of decimal digits (``"2323"``)."""
    if _missing(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value.strip())
    raise WireFormatError(field, value, "a count (decimal digits)")


def parse_time(value: object, field: str = "time") -> datetime | None:
    """A time with an offset (``2025-09-11T03:21:16Z``), in UTC."""
    if _missing(value):
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)
    raise WireFormatError(field, value, "a time with an offset, such as 2025-09-11T03:21:16Z")


def parse_size(value: object, field: str = "backupSize") -> int | None:
    """A size in 1024 steps (``"512 MB"``, ``"1.5 GB"``, ``"0 GB"``), in bytes to the nearest."""
    if _missing(value):
        return None
    match = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise WireFormatError(field, value, "a size such as '1.5 GB' (units B, KB, MB, GB, TB)")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise WireFormatError(field, value, "a decimal size") from None
    return int((number * 1024 ** _SIZE_UNITS[match.group(2).upper()]).to_integral_value())


def parse_duration(value: object, field: str = "jobDuration") -> timedelta | None:
    """A duration written with units d, h, m, s (``"2h0m5s"``, ``"45s"``)."""
    if _missing(value):
        return None
    match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise WireFormatError(field, value, "a duration such as '2h0m5s'")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_coded(table: CodeTable, value: object, field: str) -> Coded:
    """A code (v3: an integer) or a name (Modern: ``"Microsoft 365"``) with the other half.

    Values the catalog does not know are kept: an unknown code with its number as name,
    an unknown name with no code. The Modern status ``"Not Finished"`` (a service with
    no job) has code 0, like the v3 placeholder's status.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        entry = table.find(value)
        return Coded(value, entry.display if entry else str(value))
    if not isinstance(value, str) or not value.strip():
        raise WireFormatError(field, value, f"a {field} code or name")
    text = value.strip()
    if text.isascii() and text.isdigit():
        return parse_coded(table, int(text), field)
    if table is STATUSES and text.casefold() == NOT_FINISHED.casefold():
        return Coded(0, NOT_FINISHED)
    entry = table.find(text)
    return Coded(None, text) if entry is None else Coded(entry.code, entry.display)


def _member(row: Mapping[str, Any], name: str) -> Any:
    if name not in row:
        raise WireFormatError(name, None, "a member of the row")
    return row[name]


def parse_job(row: object, customer_id: str) -> Job:
    """A job row of either generation (v3 codes or Modern names), for ``customer_id``.

    ``jobType``, ``jobModule`` and ``status`` are required; any other member that is
    absent reads as ``"N/A"`` would.
    """
    if not isinstance(row, Mapping):
        raise WireFormatError("row", row, "a JSON object")
    return Job(
        customer_id=customer_id,
        job_type=parse_coded(JOB_TYPES, _member(row, "jobType"), "jobType"),
        job_module=parse_coded(JOB_MODULES, _member(row, "jobModule"), "jobModule"),
        status=parse_coded(STATUSES, _member(row, "status"), "status"),
        job_id=parse_text(row.get("jobId"), "jobId"),
        name=parse_text(row.get("name"), "name"),
        total_count=parse_count(row.get("totalCount"), "totalCount"),
        failed_count=parse_count(row.get("failedCount"), "failedCount"),
        successful_count=parse_count(row.get("successfulCount"), "successfulCount"),
        skipped_count=parse_count(row.get("skippedCount"), "skippedCount"),
        warning_count=parse_count(row.get("warningCount"), "warningCount"),
        backup_size=parse_size(row.get("backupSize"), "backupSize"),
        start_time=parse_time(row.get("startTime"), "startTime"),
        end_time=parse_time(row.get("endTime"), "endTime"),
        duration=parse_duration(row.get("jobDuration"), "jobDuration"),
        last_modify_time=parse_time(row.get("lastModifyTime"), "lastModifyTime"),
    )


def parse_customer(row: object) -> Customer:
    """A customer row of either generation (SPEC §5 "Customers"): v3 codes or Modern names
    for ``jobStatus``; ``managementMode`` and ``tenants`` when the row has them."""
    if not isinstance(row, Mapping):
        raise WireFormatError("row", row, "a JSON object")
    customer_id = parse_text(_member(row, "id"), "id")
    if customer_id is None:
        raise WireFormatError("id", row["id"], "a customer id")
    job_status, mode = row.get("jobStatus"), row.get("managementMode")
    return Customer(
        id=customer_id,
        organization=parse_text(row.get("organization"), "organization"),
        owner_email=parse_text(row.get("ownerEmail"), "ownerEmail"),
        job_status=None
        if job_status is None
        else parse_coded(CUSTOMER_JOB_STATUSES, job_status, "jobStatus"),
        country_or_region=parse_text(row.get("countryOrRegion"), "countryOrRegion"),
        management_mode=None
        if mode is None
        else parse_coded(MANAGEMENT_MODES, mode, "managementMode"),
        tenants=None if "tenants" not in row else _tenants(row["tenants"]),
    )


def _tenants(value: object) -> tuple[Tenant, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise WireFormatError("tenants", value, "a JSON array of {id, name}")
    found = []
    for tenant in value:
        if not isinstance(tenant, Mapping) or parse_text(tenant.get("id"), "tenants.id") is None:
            raise WireFormatError("tenants", tenant, "a tenant: {id, name}")
        found.append(Tenant(tenant["id"], parse_text(tenant.get("name"), "tenants.name")))
    return tuple(found)


def parse_rows(body: object, member: str) -> list[Any]:
    """The list at ``body[member]`` (``data`` in v3, ``value`` in OData)."""
    rows = body.get(member) if isinstance(body, Mapping) else None
    if not isinstance(rows, list):
        raise WireFormatError(member, rows, "a JSON array")
    return rows
