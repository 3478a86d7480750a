"""This product's reports (``/api/v1``): history, services' health, summaries, export.

>>> # for job in client.reports.history(status=["Failed"], since=timedelta(days=7)):
>>> #     print(job.customer_name, job.job_module_name, job.start_time)
>>> # for service in client.reports.services(health=["failing", "stale"]): ...
>>> # summary = client.reports.summary()           # every customer, worst first
>>> # rows = client.reports.export("jobs.csv", format="csv", status=3)

Records are typed (``msgspec`` structs, times as aware UTC datetimes); listings follow
``nextCursor`` to the end. The parts both clients share (the calls, the answers' reading)
are here; :class:`~backupjobs.sdk.Client` and :class:`~backupjobs.sdk.AsyncClient` carry
them out (``client.reports``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from backupjobs.sdk.errors import WireFormatError
from backupjobs.sdk.flows import Call, PageWalk
from backupjobs.sdk.records import Page

T = TypeVar("T")

JOBS = "/api/v1/jobs"
EXPORT = "/api/v1/jobs/export"
SERVICES = "/api/v1/services"
SUMMARY = "/api/v1/summary"
DAILY = "/api/v1/daily"

#: A filter's values: one, or several (a code or a catalog name each).
Values = int | str | Sequence[int | str] | None


@dataclass(frozen=True, slots=True)
class HistoryJob:
    """A job run (SPEC §10's job record)."""

    job_id: str
    customer_id: UUID
    customer_name: str
    job_type: int
    job_type_name: str
    job_module: int
    job_module_name: str
    status: int
    status_name: str
    name: str | None
    total_count: int | None
    failed_count: int | None
    successful_count: int | None
    skipped_count: int | None
    warning_count: int | None
    backup_size_bytes: int | None
    start_time: datetime | None
    end_time: datetime | None
    duration_seconds: int | None
    last_modify_time: datetime


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    """A backup service with its health (``failing``, ``stale``, ``warning``, ...)."""

    customer_id: UUID
    customer_name: str
    job_type: int
    job_type_name: str
    job_module: int
    job_module_name: str
    health: str
    stale: bool
    latest_job: HistoryJob | None
    last_success_time: datetime | None
    consecutive_failures: int
    open_incident_id: str | None = None


@dataclass(frozen=True, slots=True)
class SummaryTotals:
    customers: int
    services: int
    jobs: int
    by_status: dict[str, int]
    success_rate: float | None
    failing_services: int
    stale_services: int
    backup_size_bytes: int


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    customer_id: UUID
    customer_name: str
    job_status: int
    job_status_name: str
    jobs: int
    by_status: dict[str, int]
    success_rate: float | None
    last_success_time: datetime | None
    failing_services: int
    stale_services: int
    backup_size_bytes: int


@dataclass(frozen=True, slots=True)
class Summary:
    """A window's totals and every customer, worst first."""

    start: datetime
    end: datetime
    totals: SummaryTotals
    customers: list[CustomerSummary]


@dataclass(frozen=True, slots=True)
class DailyOutcome:
    """A customer's outcomes on one calendar day."""

    date: str
    customer_id: UUID
    by_status: dict[str, int]
    jobs: int
    backup_size_bytes: int
    duration_seconds: int


def _listed(values: Values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, int | str):
        return [str(values)]
    return [str(value) for value in values]


def _moment(value: datetime | timedelta | str | None) -> str | None:
    """A window's bound: a datetime, a duration before now, or text as the API takes it."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, timedelta):
        value = datetime.now(UTC) - value
    if value.tzinfo is None:
        raise ValueError(f"a naive datetime is ambiguous: {value!r} (give a time zone)")
    return value.astimezone(UTC).isoformat()


def query(**filters: Any) -> tuple[tuple[str, str], ...]:
    """Query pairs: repeated names for several values, absent ones left out."""
    pairs: list[tuple[str, str]] = []
    for name, value in filters.items():
        given = _moment(value) if isinstance(value, datetime | timedelta) else value
        pairs += [(name, text) for text in _listed(given)]
    return tuple(pairs)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _value(name: str, value: Any) -> Any:
    """A field's value from JSON: times as aware datetimes, ids as UUIDs, a latest job
    as a record."""
    if value is None:
        return None
    if name.endswith("_time") or name in ("start", "end"):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if name == "customer_id":
        return UUID(value)
    if name == "latest_job":
        return _convert(value, HistoryJob, "latestJob")
    return value


def _convert(data: Any, kind: type[T], what: str) -> T:
    """A record of ``kind`` (a dataclass) from its JSON object (camelCase names)."""
    if kind is datetime:
        try:
            return _value("start", data)  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            raise WireFormatError(what, str(data)[:100], "an RFC 3339 time") from None
    if not isinstance(data, Mapping):
        raise WireFormatError(what, str(data)[:100], "a JSON object")
    try:
        values = {
            field.name: _value(field.name, data.get(_camel(field.name)))
            for field in fields(kind)  # type: ignore[arg-type]
        }
        return kind(**values)
    except (TypeError, ValueError, AttributeError) as error:
        raise WireFormatError(what, str(data)[:100], str(error)) from None


def cursor_walk(url: str, params: tuple[tuple[str, str], ...], kind: type[T]) -> PageWalk[T]:
    """A ``/api/v1`` list: ``{"items", "nextCursor"}``, followed to the end."""

    def read(call: Call, body: Any) -> Page[T]:
        if not isinstance(body, Mapping) or "items" not in body:
            raise WireFormatError("list answer", str(body)[:100], '{"items", "nextCursor"}')
        items = [_convert(item, kind, "list item") for item in body["items"]]
        cursor = body.get("nextCursor")
        next_call = Call("GET", url, (*params, ("cursor", cursor))) if cursor else None
        return Page(items, None, next_call)

    return PageWalk(Call("GET", url, params), read)


def summary_of(pages: Sequence[Any]) -> Summary:
    """The summary's pages as one: the totals, and the customers of every page."""
    first = pages[0]
    return Summary(
        start=_convert(first["from"], datetime, "from"),
        end=_convert(first["to"], datetime, "to"),
        totals=_convert(first["totals"], SummaryTotals, "totals"),
        customers=[
            _convert(customer, CustomerSummary, "customer")
            for page in pages
            for customer in page["customers"]
        ],
    )


#: What an export reports as it goes: rows and bytes written so far.
Progress = Callable[[int, int], None]
