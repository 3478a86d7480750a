"""Partners, customers and their backup services: operator writes and scoped reads.

Operator functions take an :class:`AsyncConnection` and run in the caller's transaction
(the command line opens it): an offboarding either happens whole or not at all.
"""

from __future__ import annotations

import enum
import random
import re
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from backupjobs.catalog import JOB_MODULES, JOB_TYPES, MANAGEMENT_MODES, STATUSES
from backupjobs.model import NO_PROFILE, CustomerProfile, CustomerState, Tenant
from backupjobs.model.health import (
    EXCEPTION_PROBLEM,
    FAILED_PROBLEM,
    FAILED_STATUSES,
    WAITING_PROBLEM,
    ServicesSummary,
    service_problem,
    summary_job_status,
)
from backupjobs.store.bulk import RowsInsert, built, execute_after_rows, one_of, one_of_parameter
from backupjobs.store.paging import Page, fetch_page, offset_page_statement
from backupjobs.store.schema import (
    LATEST,
    Moments,
    app_customers,
    apps,
    backup_services,
    customer_blocks,
    customer_days,
    customer_long_blocks,
    customers,
    in_years_1_to_9999,
    job_outcomes,
    jobs,
    partners,
    sort_time,
)
from backupjobs.store.scope import TenantScope
from backupjobs.store.service_health import stale_since
from backupjobs.store.sums import capped_sum

# Revision tags need only never to repeat: a generator seeded from the OS once, not a
# system call per tag.
_revisions = random.Random()  # noqa: S311


class NotFoundError(LookupError):
    """An operator named a partner, customer or app that does not exist."""


class ConflictError(ValueError):
    """An operator asked to create something that already exists."""


async def create_partner(connection: AsyncConnection, name: str, *, now: datetime) -> UUID:
    partner_id = uuid.uuid4()
    await connection.execute(
        partners.insert().values(id=partner_id, name=_name(name), created_at=now)
    )
    return partner_id


async def require_partner(connection: AsyncConnection, partner_id: UUID) -> None:
    found = await connection.scalar(select(partners.c.id).where(partners.c.id == partner_id))
    if found is None:
        raise NotFoundError(f"no partner {partner_id}")


async def create_customer(
    connection: AsyncConnection,
    partner_id: UUID,
    name: str,
    *,
    customer_id: UUID | None = None,
    profile: CustomerProfile = NO_PROFILE,
    now: datetime,
) -> UUID:
    await require_partner(connection, partner_id)
    values = {
        "owner_email": owner_email(profile.owner_email),
        "country_or_region": country_or_region(profile.country_or_region),
        "management_mode": management_mode(profile.management_mode),
    }
    values["tenants"] = tenants_json(tenants(profile.tenants))
    customer_id = customer_id or uuid.uuid4()
    taken = await connection.scalar(select(customers.c.id).where(customers.c.id == customer_id))
    if taken is not None:
        raise ConflictError(f"customer {customer_id} already exists")
    await connection.execute(
        customers.insert().values(
            partner_id=partner_id, id=customer_id, name=_name(name), created_at=now, **values
        )
    )
    return customer_id


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def owner_email(value: str) -> str:
    """An owner email, checked: ``""`` (unknown) or ``name@domain.tld``, at most 254."""
    cleaned = value.strip()
    if cleaned and (len(cleaned) > 254 or not _EMAIL.fullmatch(cleaned)):
        raise ValueError(
            f"owner email {value!r} is not an email address such as admin@contoso.com "
            "(at most 254 characters; empty for unknown)"
        )
    return cleaned


def country_or_region(value: str) -> str:
    """A country or region, checked: ``""`` (unknown) or a name of at most 100 characters."""
    cleaned = value.strip()
    if len(cleaned) > 100 or not cleaned.isprintable():
        raise ValueError(
            f"country or region {value!r} must be printable text of at most 100 characters"
        )
    return cleaned


def management_mode(value: int) -> int:
    """A management mode code, checked against the catalog."""
    if MANAGEMENT_MODES.find(value) is None:
        valid = ", ".join(f"{code.code} ({code.display})" for code in MANAGEMENT_MODES)
        raise ValueError(f"management mode {value} is not one of {valid}")
    return value


def tenants(given: Iterable[Tenant]) -> tuple[Tenant, ...]:
    """Tenants, checked: ids of at most 128 characters, each once; names not blank."""
    checked: dict[str, Tenant] = {}
    for tenant in given:
        tenant_id, name = tenant.id.strip(), tenant.name.strip()
        if not tenant_id or len(tenant_id) > 128 or not tenant_id.isprintable():
            raise ValueError(f"tenant id {tenant.id!r} must be 1 to 128 printable characters")
        if tenant_id in checked:
            raise ValueError(f"tenant id {tenant_id!r} is given twice")
        try:
            checked[tenant_id] = Tenant(tenant_id, _name(name))
        except ValueError as error:
            raise ValueError(f"tenant {tenant_id!r}: {error}") from None
    return tuple(checked.values())


def tenants_json(checked: Sequence[Tenant]) -> str:
    """Tenants as ``customers.tenants`` holds them: the vendor's ``[{"id", "name"}]``,
    ordered by name then id (read with the customer row: no second statement)."""
    ordered = sorted(checked, key=lambda tenant: (tenant.name, tenant.id))
    return msgspec.json.encode(ordered).decode()


_TENANTS = msgspec.json.Decoder(tuple[Tenant, ...])


def _tenants_of(text: str) -> tuple[Tenant, ...]:
    return () if text == "[]" else _TENANTS.decode(text)


async def customer_partner(connection: AsyncConnection, customer_id: UUID) -> UUID:
    """The partner a customer belongs to (operator commands name customers alone)."""
    partner_id = await connection.scalar(
        select(customers.c.partner_id).where(customers.c.id == customer_id)
    )
    if partner_id is None:
        raise NotFoundError(f"no customer {customer_id}")
    result: UUID = partner_id
    return result


class Enabling(StrEnum):
    """What :func:`enable_service` did."""

    CREATED = "created"
    #: It was disabled: it shows on the job pages again, with its latest job.
    RE_ENABLED = "re-enabled"
    UNCHANGED = "unchanged"


async def enable_service(
    connection: AsyncConnection,
    customer_id: UUID,
    job_type: int,
    job_module: int,
    *,
    now: datetime,
) -> Enabling:
    """Add a backup service to a customer, or enable it again if it was disabled."""
    partner_id = await customer_partner(connection, customer_id)
    key = _service_key(partner_id, customer_id, job_type, job_module)
    found = (
        await connection.execute(select(backup_services.c.disabled_at).filter_by(**key))
    ).first()
    if found is not None and found.disabled_at is None:
        return Enabling.UNCHANGED
    if found is None:
        await connection.execute(backup_services.insert().values(**key, enabled_at=now))
    else:
        # enabled_at stays the first time: the service's history goes back to it.
        await connection.execute(update(backup_services).filter_by(**key).values(disabled_at=None))
    await services_changed(connection, partner_id, [customer_id])
    return Enabling.CREATED if found is None else Enabling.RE_ENABLED


async def disable_service(
    connection: AsyncConnection,
    customer_id: UUID,
    job_type: int,
    job_module: int,
    *,
    now: datetime,
) -> bool:
    """Take a backup service off the job pages (v3, Modern), keeping its history; False
    if it was disabled already. Jobs reported for it later are recorded, and it stays
    disabled until :func:`enable_service`."""
    partner_id = await customer_partner(connection, customer_id)
    key = _service_key(partner_id, customer_id, job_type, job_module)
    found = (
        await connection.execute(select(backup_services.c.disabled_at).filter_by(**key))
    ).first()
    if found is None:
        raise NotFoundError(
            f"customer {customer_id} has no backup service {describe_service(job_type, job_module)}"
        )
    if found.disabled_at is not None:
        return False
    await connection.execute(update(backup_services).filter_by(**key).values(disabled_at=now))
    await services_changed(connection, partner_id, [customer_id])
    return True


def describe_service(job_type: int, job_module: int) -> str:
    """``jobType 7 (Microsoft 365), jobModule 302 (SharePoint Online)``."""
    kind, module = JOB_TYPES.find(job_type), JOB_MODULES.find(job_module)
    return (
        f"jobType {job_type}{f' ({kind.display})' if kind else ''}, "
        f"jobModule {job_module}{f' ({module.display})' if module else ''}"
    )


def _service_key(
    partner_id: UUID, customer_id: UUID, job_type: int, job_module: int
) -> dict[str, Any]:
    return {
        "partner_id": partner_id,
        "customer_id": customer_id,
        "job_type": job_type,
        "job_module": job_module,
    }


async def services_changed(
    connection: AsyncConnection, partner_id: UUID, customer_ids: Collection[UUID]
) -> None:
    """Mark the customers' services as changed (a new ``services_revision``), in the
    caller's transaction: readers that cache services by revision read them again."""
    await summaries_read_again(connection, partner_id, customer_ids, revised=customer_ids)


async def summaries_read_again(
    connection: AsyncConnection,
    partner_id: UUID,
    customer_ids: Collection[UUID],
    *,
    revised: Collection[UUID],
    after_rows: Sequence[RowsInsert] = (),
) -> None:
    """Read the customers' services' summary and figures again (:func:`summary_update`),
    those of them in ``revised`` with a new ``services_revision`` (the others: a last
    success moved with no new latest job, which the job pages do not show); once they
    are locked, and in the same round trip, insert ``after_rows`` (rows of the
    customers, such as their days: :func:`.bulk.execute_after_rows`).

    The rows are locked first, in id order, so that concurrent writers never deadlock over
    them and the grouped read sees what they committed; and not against key locks (``FOR
    NO KEY UPDATE``): those of writers adding services to the same customers, whose
    foreign keys share-lock the customer's key.
    """
    if not customer_ids:
        return
    revised = set(revised) & set(customer_ids)
    revisions = _Revisions.NONE if not revised else _Revisions.ALL
    if revisions is _Revisions.ALL and len(revised) < len(customer_ids):
        revisions = _Revisions.SOME
    lock, read_again = built(
        (summaries_read_again, revisions, connection.dialect.name),
        lambda: _read_again_statements(connection, revisions),
    )
    params: dict[str, Any] = {_PARTNER: partner_id, _CUSTOMERS: sorted(customer_ids)}
    if revised:
        params[_REVISION] = _revisions.getrandbits(63)
    if revisions is _Revisions.SOME:
        params[_REVISED] = sorted(revised)
    await connection.execute(lock, params)
    await execute_after_rows(connection, read_again, params, after_rows)


_PARTNER = "read_again_partner_id"
_CUSTOMERS = "read_again_customer_ids"
_REVISION = "read_again_revision"
_REVISED = "read_again_revised_ids"


class _Revisions(enum.Enum):
    """Which customers of a :func:`summaries_read_again` get a new revision."""

    NONE = "none"
    ALL = "all"
    SOME = "some"


def _read_again_statements(connection: AsyncConnection, revisions: _Revisions) -> tuple[Any, Any]:
    """:func:`summaries_read_again`'s lock and UPDATE, their values parameters (built once
    per process, :func:`.bulk.built`).

    One UPDATE for the revision and the summary (each UPDATE of a customer is a new row
    version): the chosen customers joined to their services' summary, those left without
    an enabled service given the summary of none.
    """
    partner = bindparam(_PARTNER, type_=customers.c.partner_id.type)
    lock = (
        select(customers.c.id)
        .where(
            customers.c.partner_id == partner,
            one_of_parameter(connection, customers.c.id, _CUSTOMERS),
        )
        .order_by(customers.c.id)
        .with_for_update(key_share=True)
    )
    summary = _services_summary(
        latest_partner=partner,
        latest_customers=one_of_parameter(connection, backup_services.c.customer_id, _CUSTOMERS),
    )
    chosen = customers.alias("chosen")
    source = (
        select(chosen.c.partner_id, chosen.c.id, *summary.c)
        .select_from(
            chosen.outerjoin(
                summary,
                and_(
                    summary.c.partner_id == chosen.c.partner_id,
                    summary.c.customer_id == chosen.c.id,
                ),
            )
        )
        .where(
            chosen.c.partner_id == partner,
            one_of_parameter(connection, chosen.c.id, _CUSTOMERS),
        )
        .subquery("source")
    )
    values: dict[str, Any] = {
        name: value if _NO_SERVICES[name] is None else func.coalesce(value, _NO_SERVICES[name])
        for name, value in _summary_values(source).items()
    }
    revision = bindparam(_REVISION, type_=BigInteger())
    if revisions is _Revisions.ALL:
        values["services_revision"] = revision
    elif revisions is _Revisions.SOME:
        values["services_revision"] = case(
            (one_of_parameter(connection, customers.c.id, _REVISED), revision),
            else_=customers.c.services_revision,
        )
    read_again = (
        update(customers)
        .where(customers.c.partner_id == source.c.partner_id, customers.c.id == source.c.id)
        .values(values)
    )
    return lock, read_again


#: The summary of a customer without enabled services.
_NO_SERVICES: dict[str, Any] = {
    "services_enabled": 0,
    "services_ran": 0,
    "services_problems": 0,
    "services_oldest_change": None,
    "services_failing": 0,
    "services_backup_size_bytes": 0,
    "services_last_success": None,
    "services_since": None,
}


def summary_update(
    *,
    latest_partner: UUID | None = None,
    latest_customers: Any = None,
    figures: bool = True,
    since: bool = True,
) -> Any:
    """An UPDATE of the ``customers.services_*`` columns of the customers that have enabled
    services (of ``latest_partner``, among ``latest_customers``, a condition on
    ``backup_services``; all when None), from :func:`_services_summary`; with ``figures``
    the summaries' figures too, with ``since`` the services' "since" times (neither before
    the migration that adds them). Customers without any keep what they have."""
    summary = _services_summary(
        latest_partner=latest_partner,
        latest_customers=latest_customers,
        figures=figures,
        since=since,
    )
    return (
        update(customers)
        .where(
            customers.c.partner_id == summary.c.partner_id, customers.c.id == summary.c.customer_id
        )
        .values(_summary_values(summary, figures=figures, since=since))
    )


def _services_summary(
    *,
    latest_partner: Any = None,
    latest_customers: Any = None,
    figures: bool = True,
    since: bool = True,
) -> Any:
    """One grouped read of the enabled services' latest jobs, a row per customer that has
    any (``partner_id``, ``customer_id`` and the summary): the SQL of
    :func:`backupjobs.model.health.summarize_services`, and with ``figures`` the
    summaries' figures (failing, bytes, last success), with ``since`` the services'
    "since" times (:class:`_SinceTimes`)."""
    latest = backup_services.c
    status = latest[LATEST + "status"]
    problems = sum(
        (
            func.max(case((status.in_(sorted(statuses)), bit), else_=0))
            for bit, statuses in _PROBLEM_STATUSES.items()
        ),
        start=literal(0),
    )
    chosen: list[ColumnElement[bool]] = [latest.disabled_at.is_(None)]
    if latest_partner is not None:
        chosen.append(latest.partner_id == latest_partner)
    if latest_customers is not None:
        chosen.append(latest_customers)
    return (
        select(
            latest.partner_id,
            latest.customer_id,
            func.count().label("enabled"),
            func.count(latest[LATEST + "job_id"]).label("ran"),
            problems.label("problems"),
            func.min(latest[LATEST + "last_modify_time"]).label("oldest_change"),
            *(_FIGURES if figures else ()),
            *((_SinceTimes().label(_SinceTimes.name),) if since else ()),
        )
        .where(*chosen)
        .group_by(latest.partner_id, latest.customer_id)
        .subquery("summary")
    )


def _summary_values(summary: Any, *, figures: bool = True, since: bool = True) -> dict[str, Any]:
    """The ``customers.services_*`` columns from a :func:`_services_summary`'s columns."""
    kept = summary.c
    values = {
        "services_enabled": kept.enabled,
        "services_ran": kept.ran,
        "services_problems": kept.problems,
        "services_oldest_change": kept.oldest_change,
    }
    if figures:
        values |= {f"services_{figure.name}": kept[figure.name] for figure in _FIGURES}
    if since:
        values["services_since"] = kept[_SinceTimes.name]
    return values


#: A customer's services' figures (store.summary): failing ones (store.service_health's
#: rule), their latest jobs' bytes, their last success.
_FIGURES = (
    func.count(case((backup_services.c[LATEST + "status"].in_(sorted(FAILED_STATUSES)), 1))).label(
        "failing"
    ),
    func.coalesce(capped_sum(backup_services.c[LATEST + "backup_size_bytes"]), 0).label(
        "backup_size_bytes"
    ),
    func.max(backup_services.c.last_success_time).label("last_success"),
)


class _SinceTimes(FunctionElement[tuple[int, ...]]):
    """The aggregate of a customer's services that ran: when each last succeeded (or, if
    never, was first seen), in order, as :class:`~backupjobs.store.schema.Moments`; NULL
    when none ran. A summary counts the stale ones from it (``store/summary.py``), where it
    scanned every service's row (10 ms for 35,647 services)."""

    name = "since"
    type = Moments()
    inherit_cache = True


@compiles(_SinceTimes, "postgresql")
def _since_times_postgresql(element: _SinceTimes, compiler: Any, **kw: Any) -> str:
    ran, since = (compiler.process(part, **kw) for part in stale_since())
    return (
        f"array_agg(CAST(EXTRACT(EPOCH FROM {since}) * 1000000 AS BIGINT) ORDER BY {since})"
        f" FILTER (WHERE {ran})"
    )


@compiles(_SinceTimes)
def _since_times(element: _SinceTimes, compiler: Any, **kw: Any) -> str:
    # SQLite, where UtcDateTime is microseconds already: group_concat skips the NULLs.
    ran, since = (compiler.process(part, **kw) for part in stale_since())
    return f"group_concat(CASE WHEN {ran} THEN {since} END)"


#: The statuses of a latest job that set each problem bit (model.health.service_problem).
_PROBLEM_STATUSES = {
    bit: {entry.code for entry in STATUSES if service_problem(entry.code) == bit}
    for bit in (FAILED_PROBLEM, EXCEPTION_PROBLEM, WAITING_PROBLEM)
}


@dataclass(frozen=True, slots=True)
class PartnerInfo:
    id: UUID
    name: str
    created_at: datetime
    customers: int
    apps: int


async def list_partners(connection: AsyncConnection) -> list[PartnerInfo]:
    """Every partner, by name, with how many customers and apps it has."""
    counted_customers = (
        select(func.count())
        .where(customers.c.partner_id == partners.c.id)
        .scalar_subquery()
        .correlate(partners)
    )
    counted_apps = (
        select(func.count())
        .where(apps.c.partner_id == partners.c.id)
        .scalar_subquery()
        .correlate(partners)
    )
    rows = await connection.execute(
        select(
            partners.c.id, partners.c.name, partners.c.created_at, counted_customers, counted_apps
        ).order_by(partners.c.name, partners.c.id)
    )
    return [PartnerInfo(*row) for row in rows]


async def rename_partner(connection: AsyncConnection, partner_id: UUID, name: str) -> str:
    """Rename a partner; returns its previous name."""
    previous: str | None = await connection.scalar(
        select(partners.c.name).where(partners.c.id == partner_id)
    )
    if previous is None:
        raise NotFoundError(f"no partner {partner_id}")
    await connection.execute(
        update(partners).where(partners.c.id == partner_id).values(name=_name(name))
    )
    return previous


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    id: UUID
    partner_id: UUID
    name: str
    created_at: datetime
    #: Backup services on the job pages, and those disabled.
    services: int
    disabled_services: int
    owner_email: str
    country_or_region: str
    management_mode: int
    tenants: tuple[Tenant, ...]


def _customer_info() -> Select[Any]:
    def services(disabled: bool) -> Any:
        state = backup_services.c.disabled_at
        return (
            select(func.count())
            .where(
                backup_services.c.partner_id == customers.c.partner_id,
                backup_services.c.customer_id == customers.c.id,
                state.is_not(None) if disabled else state.is_(None),
            )
            .scalar_subquery()
            .correlate(customers)
        )

    return select(
        customers.c.id,
        customers.c.partner_id,
        customers.c.name,
        customers.c.created_at,
        services(disabled=False).label("services"),
        services(disabled=True).label("disabled_services"),
        customers.c.owner_email,
        customers.c.country_or_region,
        customers.c.management_mode,
        customers.c.tenants,
    )


async def _infos(connection: AsyncConnection, query: Select[Any]) -> list[CustomerInfo]:
    rows = (await connection.execute(query)).all()
    return [CustomerInfo(**{**row._mapping, "tenants": _tenants_of(row.tenants)}) for row in rows]


async def list_customers(
    connection: AsyncConnection, *, partner_id: UUID | None = None
) -> list[CustomerInfo]:
    """Customers (of one partner, or of all) by partner, then name and id."""
    query = _customer_info().order_by(customers.c.partner_id, customers.c.name, customers.c.id)
    if partner_id is not None:
        await require_partner(connection, partner_id)
        query = query.where(customers.c.partner_id == partner_id)
    return await _infos(connection, query)


async def describe_customer(connection: AsyncConnection, customer_id: UUID) -> CustomerInfo:
    found = await _infos(connection, _customer_info().where(customers.c.id == customer_id))
    if not found:
        raise NotFoundError(f"no customer {customer_id}")
    return found[0]


@dataclass(frozen=True, slots=True)
class CustomerChanges:
    """What ``customers update`` changes: a field left None stays as it is.

    A new field is an attribute here named as its attribute of :class:`CustomerInfo`
    (which :meth:`differences` compares) and its column in ``customers`` (``tenants``:
    replaced whole), checked in :meth:`values`, and an option of ``backupjobs customers
    update``.
    """

    name: str | None = None
    owner_email: str | None = None
    country_or_region: str | None = None
    management_mode: int | None = None
    tenants: tuple[Tenant, ...] | None = None

    def values(self) -> dict[str, Any]:
        """The fields to set, checked; empty when nothing changes."""
        checks: dict[str, Any] = {
            "name": _name,
            "owner_email": owner_email,
            "country_or_region": country_or_region,
            "management_mode": management_mode,
            "tenants": tenants,
        }
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        return {field: checks[field](value) for field, value in given.items() if value is not None}

    @staticmethod
    def differences(before: CustomerInfo, after: CustomerInfo) -> dict[str, tuple[Any, Any]]:
        """The fields an update can change that differ, each as (before, after)."""
        return {
            f.name: (getattr(before, f.name), getattr(after, f.name))
            for f in fields(CustomerChanges)
            if getattr(before, f.name) != getattr(after, f.name)
        }


async def update_customer(
    connection: AsyncConnection, customer_id: UUID, changes: CustomerChanges
) -> tuple[CustomerInfo, CustomerInfo]:
    """Change a customer's fields; returns it before and after."""
    values = changes.values()
    if not values:
        raise ValueError("nothing to change")
    before = await describe_customer(connection, customer_id)
    if "tenants" in values:
        values["tenants"] = tenants_json(values["tenants"])
    await connection.execute(
        update(customers)
        .where(customers.c.partner_id == before.partner_id, customers.c.id == customer_id)
        .values(values)
    )
    return before, await describe_customer(connection, customer_id)


@dataclass(frozen=True, slots=True)
class CustomerRemoval:
    """A customer offboarded (or about to be): what goes with it."""

    customer: CustomerInfo
    services: int
    jobs: int
    #: Apps limited to named customers that listed this one.
    app_scope_entries: int
    #: Apps limited to this customer alone: they see no customer once it is gone.
    apps_left_without_customers: tuple[str, ...]


async def customer_removal(connection: AsyncConnection, customer_id: UUID) -> CustomerRemoval:
    """What :func:`delete_customer` would remove, removing nothing."""
    customer = await describe_customer(connection, customer_id)
    its = (customer.partner_id, customer_id)
    counted = [
        int(
            await connection.scalar(
                select(func.count()).where(
                    table.c.partner_id == its[0], table.c.customer_id == its[1]
                )
            )
            or 0
        )
        for table in (backup_services, jobs, app_customers)
    ]
    services, job_count, scope_entries = counted
    orphaned = await _apps_of_this_customer_alone(connection, *its)
    return CustomerRemoval(customer, services, job_count, scope_entries, orphaned)


async def delete_customer(connection: AsyncConnection, customer_id: UUID) -> CustomerRemoval:
    """Offboard a customer: its jobs, backup services and app scope entries, then the
    customer itself, in the caller's transaction. Returns what was removed. An app
    limited to this customer alone is kept, seeing no customer, and is named."""
    customer = await describe_customer(connection, customer_id)
    its = (customer.partner_id, customer_id)
    # Locked first, as writers that change its services do (services_changed).
    await connection.execute(
        select(customers.c.id)
        .where(customers.c.partner_id == its[0], customers.c.id == its[1])
        .with_for_update()
    )
    orphaned = await _apps_of_this_customer_alone(connection, *its)
    removed = []
    for counted in (job_outcomes, customer_days, customer_blocks, customer_long_blocks):
        await connection.execute(
            delete(counted).where(counted.c.partner_id == its[0], counted.c.customer_id == its[1])
        )
    for table in (jobs, backup_services, app_customers):
        result = await connection.execute(
            delete(table).where(table.c.partner_id == its[0], table.c.customer_id == its[1])
        )
        removed.append(result.rowcount)
    await connection.execute(
        delete(customers).where(customers.c.partner_id == its[0], customers.c.id == its[1])
    )
    job_count, services, scope_entries = removed
    return CustomerRemoval(customer, services, job_count, scope_entries, orphaned)


async def _apps_of_this_customer_alone(
    connection: AsyncConnection, partner_id: UUID, customer_id: UUID
) -> tuple[str, ...]:
    others = (
        select(app_customers.c.client_id)
        .where(
            app_customers.c.partner_id == partner_id,
            app_customers.c.client_id == apps.c.client_id,
            app_customers.c.customer_id != customer_id,
        )
        .correlate(apps)
    )
    listed = select(app_customers.c.client_id).where(
        app_customers.c.partner_id == partner_id, app_customers.c.customer_id == customer_id
    )
    found = await connection.scalars(
        select(apps.c.client_id)
        .where(
            apps.c.partner_id == partner_id,
            apps.c.all_customers.is_(False),
            apps.c.client_id.in_(listed),
            ~others.exists(),
        )
        .order_by(apps.c.client_id)
    )
    return tuple(found.all())


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """A backup service as operators see it."""

    partner_id: UUID
    customer_id: UUID
    customer_name: str
    job_type: int
    job_module: int
    enabled_at: datetime
    #: None while it is on the job pages.
    disabled_at: datetime | None
    latest_job_id: str | None
    latest_status: int | None
    #: The latest job's start time, or its last modification if it has not started.
    latest_time: datetime | None


async def list_services(
    connection: AsyncConnection,
    *,
    customer_id: UUID | None = None,
    partner_id: UUID | None = None,
) -> list[ServiceInfo]:
    """Backup services, enabled and disabled, by customer name, then type and module."""
    latest = backup_services.c
    query = (
        select(
            latest.partner_id,
            latest.customer_id,
            customers.c.name,
            latest.job_type,
            latest.job_module,
            latest.enabled_at,
            latest.disabled_at,
            latest[LATEST + "job_id"],
            latest[LATEST + "status"],
            sort_time(latest, LATEST),
        )
        .join(
            customers,
            (customers.c.partner_id == latest.partner_id) & (customers.c.id == latest.customer_id),
        )
        .order_by(customers.c.name, latest.customer_id, latest.job_type, latest.job_module)
    )
    if customer_id is not None:
        await describe_customer(connection, customer_id)
        query = query.where(latest.customer_id == customer_id)
    if partner_id is not None:
        await require_partner(connection, partner_id)
        query = query.where(latest.partner_id == partner_id)
    return [ServiceInfo(*tuple(row)) for row in await connection.execute(query)]


_CUSTOMER = (
    customers.c.id,
    customers.c.partner_id,
    customers.c.name,
    customers.c.owner_email,
    customers.c.country_or_region,
    customers.c.management_mode,
    customers.c.tenants,
    customers.c.services_enabled,
    customers.c.services_ran,
    customers.c.services_problems,
    in_years_1_to_9999(customers.c.services_oldest_change).label("services_oldest_change"),
)
_CUSTOMER_ORDER = (customers.c.name, customers.c.id)


def _visible_customers(scope: TenantScope) -> Select[Any]:
    return select(*_CUSTOMER).where(scope.conditions.allows(customers.c.partner_id, customers.c.id))


@dataclass(frozen=True, slots=True)
class HealthClock:
    """When a customer's jobStatus is judged, and after how long without a job's change a
    service has no backup updates (``BACKUPJOBS_STALE_AFTER``)."""

    now: datetime
    stale_after: timedelta


async def customer_page(
    connection: AsyncConnection,
    scope: TenantScope,
    *,
    clock: HealthClock,
    customer_ids: list[UUID] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Page[CustomerState]:
    """The visible customers (optionally only ``customer_ids``) ordered by name, then id,
    each with its jobStatus at ``clock.now`` (from its services' summary: no service or
    job is read) and its tenants: one statement."""
    base = _visible_customers(scope)
    if customer_ids is not None:
        base = base.where(one_of(connection, customers.c.id, customer_ids))
    statement = offset_page_statement(base, order_by=_CUSTOMER_ORDER, offset=offset, limit=limit)
    page = await fetch_page(connection, statement)
    return Page([_customer_state(row, clock) for row in page.rows], page.total)


async def get_customer(
    connection: AsyncConnection, scope: TenantScope, customer_id: UUID, *, clock: HealthClock
) -> CustomerState | None:
    """A visible customer with its jobStatus at ``clock.now``; None if it is not visible."""
    rows = (
        await connection.execute(_visible_customers(scope).where(customers.c.id == customer_id))
    ).all()
    return _customer_state(rows[0], clock) if rows else None


def _customer_state(row: Row[Any], clock: HealthClock) -> CustomerState:
    summary = ServicesSummary(
        row.services_enabled, row.services_ran, row.services_problems, row.services_oldest_change
    )
    return CustomerState(
        row.id,
        row.name,
        row.owner_email,
        row.country_or_region,
        row.management_mode,
        summary_job_status(summary, now=clock.now, stale_after=clock.stale_after),
        _tenants_of(row.tenants),
    )


def _name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise ValueError("a name must not be blank")
    if len(cleaned) > 200:
        raise ValueError("a name must be at most 200 characters")
    return cleaned
