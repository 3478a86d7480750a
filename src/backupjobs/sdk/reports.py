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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar
from uuid import UUID

from backupjobs.sdk.errors import WireFormatError
from backupjobs.sdk.flows import Call, Gather, PageWalk
from backupjobs.sdk.records import Page

if TYPE_CHECKING:
    from backupjobs.sdk.endpoints import Endpoints

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


def cursor_walk(
    url: str, params: tuple[tuple[str, str], ...], read_items: Callable[[Any], list[T]]
) -> PageWalk[T]:
    """A ``/api/v1`` answer in pages, each with its ``nextCursor``, followed to the end."""

    def read(call: Call, body: Any) -> Page[T]:
        found = read_items(body)
        cursor = body.get("nextCursor") if isinstance(body, Mapping) else None
        next_call = Call("GET", url, (*params, ("cursor", cursor))) if cursor else None
        return Page(found, None, next_call)

    return PageWalk(Call("GET", url, params), read)


def items(read_item: Callable[[Any], T]) -> Callable[[Any], list[T]]:
    """A list's page: ``{"items", "nextCursor"}``, each item read by ``read_item``."""

    def read(body: Any) -> list[T]:
        if not isinstance(body, Mapping) or "items" not in body:
            raise WireFormatError("list answer", str(body)[:100], '{"items", "nextCursor"}')
        return [read_item(item) for item in body["items"]]

    return read


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


# --- each call once, for both clients ---------------------------------------------------

#: The SDK's argument names and the API's parameter names.
_PARAMETERS = {
    "customer_id": "customerId",
    "job_type": "jobType",
    "job_module": "jobModule",
    "status": "status",
    "health": "health",
    "since": "startedFrom",
    "until": "startedTo",
    "name_contains": "q",
    "stale_after": "staleAfter",
    "tz": "tz",
    "start": "from",
    "end": "to",
    "page_size": "limit",
    "format": "format",
}

HISTORY_FILTERS = (
    "customer_id",
    "job_type",
    "job_module",
    "status",
    "since",
    "until",
    "name_contains",
)


def arguments(arguments: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The query of a call from its arguments (the SDK's names), in their order."""
    return query(**{_PARAMETERS[name]: value for name, value in arguments.items()})


def history_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """``filters`` if each is one of :meth:`~backupjobs.sdk.Reports.history`'s."""
    unknown = set(filters) - set(HISTORY_FILTERS)
    if unknown:
        raise TypeError(f"unknown history filter(s): {', '.join(sorted(unknown))}")
    return dict(filters)


def listing(api: Endpoints, path: str, kind: type[T], **given: Any) -> PageWalk[T]:
    """A ``/api/v1`` list at ``path`` with ``given`` (the SDK's names)."""
    record = items(lambda item: _convert(item, kind, "list item"))
    return cursor_walk(api.url(path), arguments(given), record)


# The reports' calls, each declared once: ``client.reports`` of either client carries
# them out (their docstrings are the methods').


def history(
    api: Endpoints,
    *,
    customer_id: Values = None,
    job_type: Values = None,
    job_module: Values = None,
    status: Values = None,
    since: datetime | timedelta | str | None = None,
    until: datetime | timedelta | str | None = None,
    name_contains: str | None = None,
    page_size: int = 100,
) -> PageWalk[HistoryJob]:
    """Every job run, newest first; filters take codes or catalog names, one or
    several; ``since``/``until``: a datetime, a date, or a timedelta before now."""
    return listing(
        api,
        JOBS,
        HistoryJob,
        customer_id=customer_id,
        job_type=job_type,
        job_module=job_module,
        status=status,
        since=since,
        until=until,
        name_contains=name_contains,
        page_size=page_size,
    )


def services(
    api: Endpoints,
    *,
    customer_id: Values = None,
    job_type: Values = None,
    job_module: Values = None,
    health: Values = None,
    stale_after: str | None = None,
    page_size: int = 100,
) -> PageWalk[ServiceHealth]:
    """Every backup service with its health, worst first (``health="failing"``)."""
    return listing(
        api,
        SERVICES,
        ServiceHealth,
        customer_id=customer_id,
        job_type=job_type,
        job_module=job_module,
        health=health,
        stale_after=stale_after,
        page_size=page_size,
    )


def summary(
    api: Endpoints,
    *,
    start: datetime | timedelta | str | None = None,
    end: datetime | timedelta | str | None = None,
    customer_id: Values = None,
    stale_after: str | None = None,
    tz: str | None = None,
) -> Gather[Summary]:
    """Totals and every customer's figures over a window (default: the last 7 days)."""
    given = {
        "customer_id": customer_id,
        "stale_after": stale_after,
        "tz": tz,
        "start": start,
        "end": end,
        "page_size": 1000,
    }
    # Each page is read whole (its totals, some of the customers), then all as one.
    walk = cursor_walk(api.url(SUMMARY), arguments(given), lambda page: [page])
    return Gather(walk, summary_of)


def daily(
    api: Endpoints,
    *,
    start: datetime | timedelta | str | None = None,
    end: datetime | timedelta | str | None = None,
    tz: str | None = None,
    customer_id: Values = None,
    job_type: Values = None,
    job_module: Values = None,
    page_size: int = 1000,
) -> PageWalk[DailyOutcome]:
    """Each customer's outcomes per calendar day in ``tz`` (default UTC)."""
    return listing(
        api,
        DAILY,
        DailyOutcome,
        customer_id=customer_id,
        job_type=job_type,
        job_module=job_module,
        tz=tz,
        page_size=page_size,
        start=start,
        end=end,
    )


def export(api: Endpoints, format: str, filters: Mapping[str, Any]) -> Call:
    """``GET /api/v1/jobs/export`` with :meth:`~backupjobs.sdk.Reports.history`'s filters."""
    return Call("GET", api.url(EXPORT), arguments({**history_filters(filters), "format": format}))


class ExportSink:
    """Where an export's answer goes as it arrives, and its rows (lines; the CSV header is
    not one) and bytes so far, told to ``progress``."""

    def __init__(self, target: BinaryIO, format: str, progress: Progress | None) -> None:
        self.rows = -1 if format == "csv" else 0
        self.bytes = 0
        self._target = target
        self._progress = progress

    def write(self, chunk: bytes) -> None:
        self._target.write(chunk)
        self.rows += chunk.count(b"\n")
        self.bytes += len(chunk)
        if self._progress is not None:
            self._progress(max(self.rows, 0), self.bytes)


@contextmanager
def export_sink(
    target: str | Path | BinaryIO, format: str, progress: Progress | None
) -> Iterator[ExportSink]:
    """An :class:`ExportSink` on ``target``: a path (opened and closed here) or a stream."""
    if isinstance(target, str | Path):
        with open(target, "wb") as stream:
            yield ExportSink(stream, format, progress)
    else:
        yield ExportSink(target, format, progress)
