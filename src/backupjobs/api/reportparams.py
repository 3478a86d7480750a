"""The query parameters the reports share (SPEC §10), stated once: their OpenAPI schemas
(codes and names as enums, customer ids as UUIDs, times as date-times, repeatable ones as
arrays) and how each is read. Each wrong value is a 400 problem naming the parameter, the
value and what is valid; each customer the app may not see a 404 like one that does not
exist.

One dependency reads them, :func:`report_filters`, as Netflix Dispatch's one filter helper
serves every list: a report names the parameters it takes and receives them read and
checked, as one :class:`ReportFilters`; its OpenAPI operation lists exactly those.

>>> # @get("/api/v1/jobs", dependencies={"filters": report_filters("customerId", "status")})
>>> # async def list_jobs(filters: ReportFilters, ...) -> ...:
>>> #     rows = await history_page(connection, scope, filters.jobs(), ...)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.api.context import AppContext
from backupjobs.api.problems import ProblemError
from backupjobs.auth.tokens import Principal
from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES, CodeTable, UnknownCodeError
from backupjobs.model.durations import MAX_DURATION, format_iso_duration, parse_duration
from backupjobs.model.health import HEALTH_ORDER, Health
from backupjobs.store.history import JobFilters, unknown_customers
from backupjobs.store.scope import TenantScope
from backupjobs.store.service_health import ServiceFilters
from backupjobs.store.summary import DayFilters

UTC_ZONE = ZoneInfo("UTC")
#: The reports' default window: the last 7 days.
DEFAULT_WINDOW = timedelta(days=7)
#: The most days one window may span (a daily report's rows grow with them).
MAX_DAYS = 3660
#: The longest name substring ``q`` takes.
NAME_LIMIT = 200
#: The export's media types, by ``format``.
CSV = "text/csv"
NDJSON = "application/x-ndjson"
EXPORT_FORMATS = {"csv": CSV, "ndjson": NDJSON}
HEALTHS = ", ".join(health.value for health in HEALTH_ORDER)


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


def healths(values: Sequence[str] | None) -> tuple[Health, ...]:
    found: list[Health] = []
    for value in values or ():
        try:
            health = Health(value.strip().lower())
        except ValueError:
            raise invalid("health", value, f"is not a health: {HEALTHS}") from None
        if health not in found:
            found.append(health)
    return tuple(found)


def export_format(value: str | None) -> str | None:
    """The media type ``format`` names (None if absent)."""
    if value is None:
        return None
    chosen = EXPORT_FORMATS.get(value.strip().lower())
    if chosen is None:
        raise invalid("format", value, "is not an export format: csv or ndjson")
    return chosen


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
        return UTC_ZONE
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


# The parameters' OpenAPI schemas. Query values are text: a repeatable parameter is an
# array (``status=3&status=Failed``), never null; a code is an integer or a name.


def _names(table: CodeTable) -> list[str]:
    """The names that pick one entry of ``table`` (display and seed names; a name two
    codes share picks neither and is left out: a 400 naming both)."""
    found: list[str] = []
    for entry in table:
        for name in (entry.display, entry.name):
            if name not in found and table.find(name) is entry:
                found.append(name)
    return found


def _listed(table: CodeTable) -> str:
    return "; ".join(f"{entry.code} {entry.display}" for entry in table)


def _repeatable(name: str, items: Schema, description: str, example: list[Any]) -> Any:
    return QueryParameter(
        name=name,
        required=False,
        description=description,
        schema_extra={
            "one_of": None,
            "type": OpenAPIType.ARRAY,
            "items": items,
            "examples": [example],
        },
    )


def _code_parameter(name: str, table: CodeTable, what: str, example: list[Any]) -> Any:
    items = Schema(
        any_of=[
            Schema(type=OpenAPIType.INTEGER, enum=[entry.code for entry in table]),
            Schema(type=OpenAPIType.STRING, enum=_names(table)),
        ]
    )
    return _repeatable(
        name,
        items,
        f"Only jobs of these {what} (repeatable; any of them): codes or catalog names, in any "
        f"case. Codes and names: {_listed(table)}.",
        example,
    )


def _scalar(name: str, schema: Schema, description: str, example: Any) -> Any:
    extra: dict[str, Any] = {
        "one_of": None,
        "type": schema.type,
        "examples": [example],
    }
    for key in ("format", "pattern", "enum", "any_of", "max_length"):
        if getattr(schema, key) is not None:
            extra[key] = getattr(schema, key)
    return QueryParameter(name=name, required=False, description=description, schema_extra=extra)


#: An RFC 3339 time, or a date.
_TIME = Schema(
    type=OpenAPIType.STRING,
    any_of=[Schema(format=OpenAPIFormat.DATE_TIME), Schema(format=OpenAPIFormat.DATE)],
)
_T_PART = r"T(?:\d+H(?:\d+M)?(?:\d+(?:\.\d+)?S)?|\d+M(?:\d+(?:\.\d+)?S)?|\d+(?:\.\d+)?S)"
#: An ISO 8601 duration of weeks, days, hours, minutes and seconds (at least one).
DURATION_PATTERN = rf"^P(?:\d+W(?:\d+D)?(?:{_T_PART})?|\d+D(?:{_T_PART})?|{_T_PART})$"
#: The shape of an IANA time zone name (which ones exist, the server's tz database says).
ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$"

#: Every report filter by its query name: its type and OpenAPI description.
PARAMETERS: dict[str, Any] = {
    "customerId": Annotated[
        list[str] | None,
        _repeatable(
            "customerId",
            Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID),
            "Only these customers (repeatable). A customer the app may not see is a 404, as "
            "one that does not exist.",
            ["00427fbc-8832-46cf-a1d2-582fa46ec638"],
        ),
    ],
    "jobType": Annotated[list[str] | None, _code_parameter("jobType", JOB_TYPES, "job types", [7])],
    "jobModule": Annotated[
        list[str] | None,
        _code_parameter("jobModule", JOB_MODULES, "job modules", ["SharePoint Online"]),
    ],
    "status": Annotated[
        list[str] | None, _code_parameter("status", STATUSES, "statuses", [3, "Failed to start"])
    ],
    "health": Annotated[
        list[str] | None,
        _repeatable(
            "health",
            Schema(type=OpenAPIType.STRING, enum=[health.value for health in HEALTH_ORDER]),
            f"Only services with this health (repeatable): {HEALTHS}.",
            ["failing", "stale"],
        ),
    ],
    "startedFrom": Annotated[
        str | None,
        _scalar(
            "startedFrom",
            _TIME,
            "Jobs whose sort time (start, or last change if not started) is at or after this "
            "RFC 3339 time, or date (midnight UTC).",
            "2026-11-30T00:00:00Z",
        ),
    ],
    "startedTo": Annotated[
        str | None,
        _scalar(
            "startedTo",
            _TIME,
            "Jobs whose sort time is before this RFC 3339 time, or date (midnight UTC).",
            "2026-12-01",
        ),
    ],
    "q": Annotated[
        str | None,
        _scalar(
            "q",
            Schema(type=OpenAPIType.STRING, max_length=NAME_LIMIT),
            "A substring of the job's name, in any case.",
            "nightly",
        ),
    ],
    "from": Annotated[
        str | None,
        _scalar(
            "from",
            _TIME,
            "Start of the window: an RFC 3339 time, or a date (midnight in `tz`). Default: 7 "
            "days before `to`.",
            "2026-11-23",
        ),
    ],
    "to": Annotated[
        str | None,
        _scalar(
            "to",
            _TIME,
            "End of the window (excluded): an RFC 3339 time, or a date (midnight in `tz`).",
            "2026-11-30T00:00:00Z",
        ),
    ],
    "tz": Annotated[
        str | None,
        _scalar(
            "tz",
            Schema(type=OpenAPIType.STRING, pattern=ZONE_PATTERN),
            "An IANA time zone name (the tz database's, such as `Europe/Berlin` or `UTC`): "
            "the zone of the dates given and of the days. Default UTC; a name the server's "
            "tz database does not hold is a 400.",
            "Europe/Berlin",
        ),
    ],
    "staleAfter": Annotated[
        str | None,
        _scalar(
            "staleAfter",
            Schema(type=OpenAPIType.STRING, pattern=DURATION_PATTERN),
            "ISO 8601 duration (weeks, days, hours, minutes, seconds) without a successful "
            "job after which a service is stale: more than zero, at most "
            f"{MAX_DURATION.days} days. Default: the server's BACKUPJOBS_STALE_AFTER, 36 "
            "hours.",
            "PT36H",
        ),
    ],
    "format": Annotated[
        str | None,
        _scalar(
            "format",
            Schema(type=OpenAPIType.STRING, enum=list(EXPORT_FORMATS)),
            "`csv` or `ndjson` (default: by Accept, else csv).",
            "csv",
        ),
    ],
}


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """A report's filters, read and checked; those its route does not take stay empty.

    ``start`` and ``end`` are ``from`` and ``to``, ``started_from`` and ``started_to``
    the history's window; ``zone`` is ``tz`` (UTC by default), ``stale_after`` is
    ``staleAfter`` or the server's default, ``export_type`` the media type ``format``
    names (None if absent).
    """

    customer_ids: tuple[UUID, ...] = ()
    job_types: tuple[int, ...] = ()
    job_modules: tuple[int, ...] = ()
    statuses: tuple[int, ...] = ()
    healths: tuple[Health, ...] = ()
    started_from: datetime | None = None
    started_to: datetime | None = None
    name_contains: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    zone: ZoneInfo = UTC_ZONE
    stale_after: timedelta = timedelta(hours=36)
    export_type: str | None = None

    def jobs(self) -> JobFilters:
        return JobFilters(
            customer_ids=self.customer_ids,
            job_types=self.job_types,
            job_modules=self.job_modules,
            statuses=self.statuses,
            started_from=self.started_from,
            started_to=self.started_to,
            name_contains=self.name_contains,
        )

    def services(self) -> ServiceFilters:
        return ServiceFilters(
            customer_ids=self.customer_ids,
            job_types=self.job_types,
            job_modules=self.job_modules,
            healths=self.healths,
        )

    def days(self) -> DayFilters:
        return DayFilters(
            customer_ids=self.customer_ids,
            job_types=self.job_types,
            job_modules=self.job_modules,
        )


def read_filters(query: dict[str, Any], *, default_stale_after: timedelta) -> ReportFilters:
    """The filters of ``query`` (values by query name, None if absent), or a 400 problem
    naming the first wrong one."""
    tz = zone(query.get("tz"))
    started_from = instant("startedFrom", query.get("startedFrom"), UTC_ZONE)
    started_to = instant("startedTo", query.get("startedTo"), UTC_ZONE)
    if started_from is not None and started_to is not None and started_from >= started_to:
        raise ProblemError(
            400,
            "Invalid query parameters startedFrom and startedTo: startedFrom "
            f"({query['startedFrom']}) must be before startedTo ({query['startedTo']}).",
        )
    name_contains = query.get("q") or None
    if name_contains is not None and len(name_contains) > NAME_LIMIT:
        raise invalid("q", name_contains, f"is longer than {NAME_LIMIT} characters")
    return ReportFilters(
        customer_ids=customer_ids(query.get("customerId")),
        job_types=codes(JOB_TYPES, "jobType", query.get("jobType")),
        job_modules=codes(JOB_MODULES, "jobModule", query.get("jobModule")),
        statuses=codes(STATUSES, "status", query.get("status")),
        healths=healths(query.get("health")),
        started_from=started_from,
        started_to=started_to,
        name_contains=name_contains,
        start=instant("from", query.get("from"), tz),
        end=instant("to", query.get("to"), tz),
        zone=tz,
        stale_after=stale_after(query.get("staleAfter"), default_stale_after),
        export_type=export_format(query.get("format")),
    )


def _argument(name: str) -> str:
    """The Python name of query parameter ``name`` (``from`` is a keyword)."""
    return f"{name}_" if name in ("from", "format") else name


def report_filters(*names: str) -> Provide:
    """The dependency that reads the report filters ``names`` (query names, in the order
    the OpenAPI operation lists them) into a :class:`ReportFilters`, and answers 404 for a
    ``customerId`` the app may not see.

    Its signature is built from :data:`PARAMETERS`, so that Litestar reads and documents
    exactly these parameters for the routes that use it.
    """
    unknown = [name for name in names if name not in PARAMETERS]
    if unknown:
        raise ValueError(f"not a report filter: {', '.join(unknown)}")
    taken = {_argument(name): name for name in names}

    async def provide_filters(
        context: AppContext, principal: Principal, **query: Any
    ) -> ReportFilters:
        filters = read_filters(
            {taken[argument]: value for argument, value in query.items()},
            default_stale_after=context.settings.stale_after,
        )
        if filters.customer_ids:
            async with context.db.read() as connection:
                await require_visible(connection, principal.tenant_scope, filters.customer_ids)
        return filters

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("context", keyword, annotation=NamedDependency[AppContext]),
        inspect.Parameter("principal", keyword, annotation=NamedDependency[Principal]),
        *(
            inspect.Parameter(argument, keyword, default=None, annotation=PARAMETERS[name])
            for argument, name in taken.items()
        ),
    ]
    function: Callable[..., Coroutine[Any, Any, ReportFilters]] = provide_filters
    function.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=ReportFilters
    )
    function.__annotations__ = {
        **{parameter.name: parameter.annotation for parameter in parameters},
        "return": ReportFilters,
    }
    return Provide(function)
