"""The query parameters the reports share (SPEC §10): codes or names, windows, time
zones, ``staleAfter``, customer ids; each wrong value a 400 problem naming the parameter
and the value, each customer the app may not see a 404 like one that does not exist.

>>> # statuses = codes(STATUSES, "status", status)                # (3, 7)
>>> # start = instant("startedFrom", startedFrom, zone)           # RFC 3339, or a date
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.api.problems import ProblemError
from backupjobs.catalog import CodeTable, UnknownCodeError
from backupjobs.model.durations import format_iso_duration, parse_duration
from backupjobs.store.history import unknown_customers
from backupjobs.store.scope import TenantScope

#: The reports' permission: either generation's jobs permission.
DEFAULT_WINDOW = timedelta(days=7)
#: The most days one window may span (a daily report's rows grow with them).
MAX_DAYS = 3660

Repeated = Annotated[list[str] | None, QueryParameter(required=False)]


def invalid(parameter: str, value: object, reason: str) -> ProblemError:
    return ProblemError(400, f"Invalid query parameter {parameter}: {value!r} {reason}.")


def codes(table: CodeTable, parameter: str, values: Sequence[str] | None) -> tuple[int, ...]:
    """Each value's code (a code or a catalog name, any case), in order, once each."""
    found: list[int] = []
    for value in values or ():
        try:
            code = table.parse(value).code
        except UnknownCodeError as error:
            raise ProblemError(400, f"Invalid query parameter {parameter}: {error}.") from None
        if code not in found:
            found.append(code)
    return tuple(found)


def customer_ids(values: Sequence[str] | None) -> tuple[UUID, ...]:
    found: list[UUID] = []
    for value in values or ():
        try:
            customer_id = UUID(value.strip())
        except ValueError:
            raise invalid("customerId", value, "is not a customer id (a UUID)") from None
        if customer_id not in found:
            found.append(customer_id)
    return tuple(found)


async def require_visible(
    connection: AsyncConnection, scope: TenantScope, ids: Sequence[UUID]
) -> None:
    """A 404 for the first of ``ids`` the app may not see, worded as for a customer that
    does not exist."""
    unknown = await unknown_customers(connection, scope, ids)
    if unknown:
        raise ProblemError(404, f"Customer {unknown[0]} was not found.")


def zone(value: str | None) -> ZoneInfo:
    """An IANA time zone (default UTC)."""
    if value is None:
        return ZoneInfo("UTC")
    try:
        if not value or value.startswith(("/", ".")) or ".." in value:
            raise ValueError(value)
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(
            "tz", value, "is not an IANA time zone name such as Europe/Berlin or UTC"
        ) from None


def instant(parameter: str, value: str | None, in_zone: ZoneInfo) -> datetime | None:
    """An RFC 3339 time, or a date (its midnight in ``in_zone``); None if absent."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=in_zone)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise invalid(
            parameter,
            value,
            "is not an RFC 3339 time with an offset (2026-11-30T08:00:00Z) or a date (2026-11-30)",
        )
    return moment.astimezone(UTC)


def window(
    start: datetime | None, end: datetime | None, *, now: datetime, names: tuple[str, str]
) -> tuple[datetime, datetime]:
    """``[start, end)``, by default the last 7 days up to now (or before ``end``)."""
    end = end or now
    start = start or end - DEFAULT_WINDOW
    if start >= end:
        raise ProblemError(
            400,
            f"Invalid query parameters {names[0]} and {names[1]}: {names[0]} "
            f"({start.isoformat()}) must be before {names[1]} ({end.isoformat()}).",
        )
    if end - start > timedelta(days=MAX_DAYS):
        raise invalid(
            names[0], start.isoformat(), f"is more than {MAX_DAYS} days before {names[1]}"
        )
    return start, end


def stale_after(value: str | None, default: timedelta) -> timedelta:
    if value is None:
        return default
    try:
        return parse_duration(value)
    except ValueError as error:
        raise ProblemError(400, f"Invalid query parameter staleAfter: {error}.") from None


def bound(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters as a cursor's binding takes them (JSON values)."""
    return {
        name: format_iso_duration(value) if isinstance(value, timedelta) else value
        for name, value in parameters.items()
    }
