"""What a signed-in user reads: the overview, a customer, the attention list.

Every page reads through the store's report functions (``store.summary``,
``store.service_health``, ``store.history``) with the tenant scope of the user's partner
(:meth:`TenantScope.whole_partner`), as the ``/api/v1`` reports do with an app's: a
customer of another partner is the same 404 page as one that does not exist. Lists page
with cursors signed by the deployment's key and bound to the list's filters and partner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from backupjobs.api import reportparams
from backupjobs.api.context import AppContext, app_context, health_clock
from backupjobs.api.history import CSV, export_lines
from backupjobs.api.problems import ProblemError
from backupjobs.api.service_health import row_health
from backupjobs.auth.users import User
from backupjobs.catalog import (
    CUSTOMER_JOB_STATUSES,
    JOB_MODULES,
    JOB_TYPES,
    STATUSES,
)
from backupjobs.infra.cursors import InvalidCursorError, binding
from backupjobs.model.health import FAILED_STATUSES, SUCCESSFUL_STATUSES, Health
from backupjobs.store import directory
from backupjobs.store.history import JobFilters, history_page
from backupjobs.store.keyset import page_of
from backupjobs.store.scope import TenantScope
from backupjobs.store.service_health import ServiceFilters, services_page
from backupjobs.store.summary import (
    CustomerSummary,
    DayFilters,
    Figures,
    Summary,
    customers_now,
    daily,
    success_rate,
    window_figures,
)
from backupjobs.web.live import ZONE_COOKIE, etag_matches, live_etag, not_modified
from backupjobs.web.render import page
from backupjobs.web.session import PATH, PageError, current_user, now
from backupjobs.wire.v1 import v1_job

USER = {"user": Provide(current_user)}
#: Days of the overview's outcome strip, and of a customer's charts.
STRIP_DAYS = 14
CHART_DAYS = 30
#: The overview's window for its success rate.
SUMMARY_WINDOW = timedelta(days=7)
CUSTOMERS_PER_PAGE = 50
JOBS_PER_PAGE = 25
SERVICES_PER_PAGE = 50
#: Seconds between two polls of a page's live region.
POLL_SECONDS = 5

Query = Annotated[str | None, QueryParameter(required=False, max_length=200)]
Repeated = Annotated[list[str] | None, QueryParameter(required=False)]
CursorParam = Annotated[str | None, QueryParameter(name="cursor", required=False, max_length=600)]


def viewer_zone(request: Request[Any, Any, Any]) -> ZoneInfo:
    """The browser's time zone (its script sets :data:`ZONE_COOKIE`), else UTC."""
    try:
        return reportparams.zone(request.cookies.get(ZONE_COOKIE) or None)
    except ProblemError:
        return ZoneInfo("UTC")


def scope_of(user: User) -> TenantScope:
    return TenantScope.whole_partner(user.partner_id)


def _position(context: AppContext, cursor: str | None, bound: bytes, kind: Any) -> Any:
    if cursor is None:
        return None
    try:
        return context.cursors.codec.decode(cursor, binding=bound, type=kind)
    except InvalidCursorError:
        raise PageError(
            400, "This page's link is not valid with these filters: start from the first page."
        ) from None


def _next_link(
    request: Request[Any, Any, Any], context: AppContext, position: Any, bound: bytes
) -> str | None:
    if position is None:
        return None
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    query.append(("cursor", context.cursors.codec.encode(position, binding=bound)))
    return f"{request.url.path}?{urlencode(query)}"


def _days_ending_today(zone: ZoneInfo, count: int) -> list[date]:
    today = datetime.now(UTC).astimezone(zone).date()
    return [today - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def _outcome(figures: Figures) -> str:
    """A day's cell in the outcome strip: fail, warn, ok or none."""
    statuses = figures.by_status
    if any(statuses.get(status) for status in FAILED_STATUSES):
        return "fail"
    if statuses.get(4):
        return "warn"
    if any(statuses.get(status) for status in SUCCESSFUL_STATUSES):
        return "ok"
    return "none"


@dataclass(frozen=True, slots=True)
class StripDay:
    day: date
    outcome: str
    jobs: int


@get("/", dependencies=USER, name="dashboard:overview")
async def overview(
    request: Request[Any, Any, Any],
    user: NamedDependency[User],
    q: Query = None,
    cursor: CursorParam = None,
) -> Response[Any]:
    """Totals, then every customer worst first with its jobStatus and a 14-day strip."""
    context = app_context(request)
    etag = await live_etag(request, user, context.db)
    if etag is not None and etag_matches(request, etag):
        return not_modified(etag)
    scope = scope_of(user)
    moment = now()
    search = (q or "").strip()
    bound = binding("dashboard-overview", {"partner": str(user.partner_id), "q": search})
    position = _position(context, cursor, bound, tuple[int, str, UUID])
    zone = viewer_zone(request)
    days = _days_ending_today(zone, STRIP_DAYS)
    async with context.db.read() as connection:
        every = await customers_now(
            connection, scope, customer_ids=(), now=moment, stale_after=context.settings.stale_after
        )
        # The page shows no customer's window: only the totals' success rate.
        window = await window_figures(
            connection, scope, customer_ids=(), start=moment - SUMMARY_WINDOW, end=moment, of=()
        )
        summary = Summary(window.start, window.end, every, window.totals)
        found = [c for c in every if search.casefold() in c.name.casefold()]
        shown, next_position = page_of(
            found, CustomerSummary.order_key, position, limit=CUSTOMERS_PER_PAGE
        )
        strips: dict[UUID, list[StripDay]] = {c.customer_id: [] for c in shown}
        if shown:
            entries, _ = await daily(
                connection,
                scope,
                DayFilters(customer_ids=tuple(strips)),
                days=days,
                zone=zone,
                position=None,
                limit=len(shown) * len(days),
            )
            for entry in entries:
                strips[entry.customer_id].append(
                    StripDay(entry.day, _outcome(entry.figures), entry.figures.jobs)
                )
    figures, services, failing, stale, _ = summary.totals()
    rate = success_rate(figures.by_status)
    return page(
        request,
        "overview.html.j2",
        user=user,
        etag=etag,
        totals={
            "customers": len(summary.customers),
            "services": services,
            "success_rate": None if rate is None else f"{rate * 100:.1f} %",
            "failing": failing,
            "stale": stale,
        },
        customers=shown,
        matching=len(found),
        strips=strips,
        days=days,
        q=search,
        job_status_names=CUSTOMER_JOB_STATUSES,
        next_link=_next_link(request, context, next_position, bound),
        first_link=f"{PATH}?{urlencode({'q': search})}"
        if cursor and search
        else PATH
        if cursor
        else None,
        poll_seconds=POLL_SECONDS,
    )


def _customer_id(raw: str) -> UUID | None:
    try:
        return UUID(raw)
    except ValueError:
        return None


async def _visible_customer(context: AppContext, scope: TenantScope, raw: str) -> Any:
    """The customer's row; the same 404 page for a malformed, unknown or foreign id."""
    customer_id = _customer_id(raw)
    row = None
    if customer_id is not None:
        async with context.db.read() as connection:
            row = await directory.get_customer(
                connection, scope, customer_id, clock=health_clock(context)
            )
    if row is None:
        raise PageError(404, "There is no customer with this id.")
    return row


def _services(rows: Sequence[Any], moment: datetime, stale_after: timedelta) -> list[Any]:
    """Rows of :func:`services_page` as the pages show them: each with its health."""
    services = []
    for service in rows:
        values = service._mapping
        health, stale = row_health(values, now=moment, stale_after=stale_after)
        services.append({"row": values, "health": health.value, "stale": stale})
    return services


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """The customer page's history filters as the form sends them."""

    status: tuple[str, ...]
    job_type: str
    started_from: str
    started_to: str
    q: str

    def filters(self, customer_id: UUID) -> JobFilters:
        """The store's filters, or a 400 page naming what is wrong."""
        try:
            utc = reportparams.zone(None)
            start = reportparams.instant("from", self.started_from or None, utc)
            end = reportparams.instant("to", self.started_to or None, utc)
            if end is not None and self.started_to and "T" not in self.started_to:
                end += timedelta(days=1)  # "to" a date: that whole day
            return JobFilters(
                customer_ids=(customer_id,),
                statuses=reportparams.codes(STATUSES, "status", self.status),
                job_types=reportparams.codes(
                    JOB_TYPES, "jobType", [self.job_type] if self.job_type else None
                ),
                started_from=start,
                started_to=end,
                name_contains=self.q or None,
            )
        except ProblemError as error:
            raise PageError(400, error.detail.replace("query parameter ", "filter ")) from None

    def binding(self, customer_id: UUID) -> bytes:
        return binding(
            "dashboard-history",
            {
                "customer": str(customer_id),
                "status": list(self.status),
                "jobType": self.job_type,
                "from": self.started_from,
                "to": self.started_to,
                "q": self.q,
            },
        )

    def query(self) -> list[tuple[str, str]]:
        pairs = [("status", status) for status in self.status]
        for name, value in (
            ("jobType", self.job_type),
            ("from", self.started_from),
            ("to", self.started_to),
            ("q", self.q),
        ):
            if value:
                pairs.append((name, value))
        return pairs


def _history_form(
    user: NamedDependency[User],
    status: Repeated = None,
    job_type: Annotated[str | None, QueryParameter(name="jobType", required=False)] = None,
    started_from: Annotated[str | None, QueryParameter(name="from", required=False)] = None,
    started_to: Annotated[str | None, QueryParameter(name="to", required=False)] = None,
    q: Query = None,
) -> HistoryQuery:
    """The history form of a customer's page (and of its CSV), read after ``user``: who
    is not signed in is sent to sign in first, whatever the form holds."""
    del user
    return HistoryQuery(
        tuple(s for s in status or () if s),
        (job_type or "").strip(),
        (started_from or "").strip(),
        (started_to or "").strip(),
        (q or "").strip(),
    )


#: A customer's page and its CSV: the user, the history form.
HISTORY_FORM = {**USER, "asked": Provide(_history_form, sync_to_thread=False)}


@get("/customers/{customer:str}", dependencies=HISTORY_FORM, name="dashboard:customer")
async def customer(
    request: Request[Any, Any, Any],
    user: NamedDependency[User],
    customer: FromPath[str],
    asked: NamedDependency[HistoryQuery],
    cursor: CursorParam = None,
) -> Response[Any]:
    """A customer's services and their health, charts, and its job history."""
    context = app_context(request)
    scope = scope_of(user)
    customer_id = _customer_id(customer)
    etag = None
    if customer_id is not None:
        etag = await live_etag(request, user, context.db, customer_id=customer_id)
    if etag is not None and etag_matches(request, etag):
        return not_modified(etag)
    row = await _visible_customer(context, scope, customer)
    filters = asked.filters(row.id)
    bound = asked.binding(row.id)
    position = _position(context, cursor, bound, tuple[datetime, str])
    moment = now()
    stale_after = context.settings.stale_after
    zone = viewer_zone(request)
    days = _days_ending_today(zone, CHART_DAYS)
    async with context.db.read() as connection:
        service_rows, _ = await services_page(
            connection,
            scope,
            ServiceFilters(customer_ids=(row.id,)),
            None,
            now=moment,
            stale_after=stale_after,
            limit=1000,
        )
        job_rows, next_position = await history_page(
            connection, scope, filters, position, limit=JOBS_PER_PAGE
        )
        entries, _ = await daily(
            connection,
            scope,
            DayFilters(customer_ids=(row.id,)),
            days=days,
            zone=zone,
            position=None,
            limit=len(days),
        )
    services = _services(service_rows, moment, stale_after)
    jobs = [v1_job(job._mapping, now=moment) for job in job_rows]
    chart = {
        "days": [entry.day.isoformat() for entry in entries],
        "finished": [entry.figures.by_status.get(2, 0) for entry in entries],
        "warning": [entry.figures.by_status.get(4, 0) for entry in entries],
        "failed": [
            sum(entry.figures.by_status.get(s, 0) for s in FAILED_STATUSES) for entry in entries
        ],
        "bytes": [entry.figures.backup_size_bytes for entry in entries],
        "seconds": [entry.figures.duration_seconds for entry in entries],
    }
    query = asked.query()
    return page(
        request,
        "customer.html.j2",
        user=user,
        etag=etag,
        customer=row,
        services=services,
        jobs=jobs,
        chart=chart,
        asked=asked,
        statuses=STATUSES,
        job_types=JOB_TYPES,
        modules=JOB_MODULES,
        next_link=_next_link(request, context, next_position, bound),
        first_link=(f"{request.url.path}?{urlencode(query)}" if cursor else None),
        csv_link=f"{request.url.path}/jobs.csv" + (f"?{urlencode(query)}" if query else ""),
        live=cursor is None,
        poll_seconds=POLL_SECONDS,
    )


@get("/customers/{customer:str}/jobs.csv", dependencies=HISTORY_FORM, name="dashboard:customer-csv")
async def customer_csv(
    request: Request[Any, Any, Any],
    user: NamedDependency[User],
    customer: FromPath[str],
    asked: NamedDependency[HistoryQuery],
) -> Stream:
    """The customer's history as filtered on its page, as the CSV of the export API."""
    context = app_context(request)
    scope = scope_of(user)
    row = await _visible_customer(context, scope, customer)
    filters = asked.filters(row.id)
    today = datetime.now(UTC).date().isoformat()
    return Stream(
        export_lines(context, scope, filters, CSV),
        media_type=CSV + "; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="backupjobs-jobs-{today}.csv"',
        },
    )


@get("/attention", dependencies=USER, name="dashboard:attention")
async def attention(
    request: Request[Any, Any, Any],
    user: NamedDependency[User],
    cursor: CursorParam = None,
) -> Response[Any]:
    """Every failing and stale service of every customer, worst first."""
    context = app_context(request)
    etag = await live_etag(request, user, context.db)
    if etag is not None and etag_matches(request, etag):
        return not_modified(etag)
    scope = scope_of(user)
    moment = now()
    stale_after = context.settings.stale_after
    bound = binding("dashboard-attention", {"partner": str(user.partner_id)})
    found = _position(context, cursor, bound, tuple[datetime, int, str, UUID, int, int])
    # Every page of one list is read with the same "now" (health depends on it).
    if found is not None:
        moment, position = found[0], found[1:]
    else:
        position = None
    async with context.db.read() as connection:
        rows, next_position = await services_page(
            connection,
            scope,
            ServiceFilters(healths=(Health.FAILING, Health.STALE)),
            position,
            now=moment,
            stale_after=stale_after,
            limit=SERVICES_PER_PAGE,
        )
    services = _services(rows, moment, stale_after)
    return page(
        request,
        "attention.html.j2",
        user=user,
        etag=etag,
        services=services,
        statuses=STATUSES,
        job_types=JOB_TYPES,
        modules=JOB_MODULES,
        next_link=_next_link(
            request, context, [moment, *next_position] if next_position else None, bound
        ),
        first_link=PATH + "/attention" if cursor else None,
        live=cursor is None,
        poll_seconds=POLL_SECONDS,
    )


ROUTES: Sequence[Any] = [overview, customer, customer_csv, attention]
