"""Realistic, deterministic backup histories, for the demo and for load tests.

>>> from datetime import UTC, datetime
>>> customer, runs = customer_history(7, 0, days=3, now=datetime(2025, 9, 11, 12, tzinfo=UTC))
>>> len(customer.services) > 0 and len(runs) > 0
True

Each customer protects a mix of services: most Microsoft 365 with its core modules and
some extras, each with a nightly scan beside its backup; some Google Workspace (likewise
scanned), a few IaaS PaaS, Dynamics 365 and Salesforce. Each service runs a nightly job
with a duration, size and outcome typical of its module: mostly finished, some failed or
finished with exception, a few still running now; a few services have never run.

Customer ``index`` of seed ``seed`` is the same whatever the number of customers, so a
history can be generated (and written) customer by customer, in any order.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from backupjobs.catalog import FAILED, FINISHED, FINISHED_WITH_EXCEPTION, JOB_MODULES, RUNNING
from backupjobs.model import NO_PROFILE, CustomerProfile, JobRecord, Tenant
from backupjobs.provisioning import AppPlan, CustomerPlan, PartnerPlan

CANCELED = 8
ERROR_START = 7

_M365_SCAN = 0
_M365 = 7
_GOOGLE_SCAN = 10
_GOOGLE = 11
_IAAS = 12
_SALESFORCE = 15
_DYNAMICS = 16

_M365_CORE = (302, 303, 305)  # SharePoint Online, Exchange Online, OneDrive: always
# Common modules, each with the share of Microsoft 365 customers that protect it.
_M365_COMMON = ((304, 0.9), (308, 0.9), (307, 0.45), (310, 0.35), (311, 0.3), (312, 0.3))
_M365_RARE = ((306, 0.15), (402, 0.2), (309, 0.1))
_GOOGLE_CORE = (501, 504)  # Gmail, Drive
_GOOGLE_COMMON = ((502, 0.7), (503, 0.6), (505, 0.5), (507, 0.3), (508, 0.4), (506, 0.08))
_IAAS_MODULES = (355, 356, 357, 358, 359, 361, 362, 365, 367, 368, 369, 370, 371)
_DYNAMICS_MODULES = (401, 550, 551)
#: Modules whose objects are discovered by a nightly scan job of their own.
_SCANNED = {_M365: _M365_SCAN, _GOOGLE: _GOOGLE_SCAN}

# Typical objects per run and bytes per object, by module (others use the default).
_SCALE = {
    302: (40_000, 900_000),
    303: (120_000, 80_000),
    304: (3_000, 400_000),
    305: (60_000, 1_500_000),
    307: (5_000, 60_000),
    308: (8_000, 250_000),
    356: (12, 60_000_000_000),
    357: (20, 30_000_000_000),
    359: (400, 200_000_000),
    362: (6, 8_000_000_000),
    501: (90_000, 70_000),
    504: (50_000, 1_200_000),
    505: (20_000, 1_500_000),
}
_DEFAULT_SCALE = (2_000, 300_000)

_NAMES = (
    "Northwind Traders", "Fabrikam", "Adventure Works", "Tailspin Toys", "Wide World Importers",
    "Contoso Pharmaceuticals", "Litware", "Proseware", "Woodgrove Bank", "Alpine Ski House",
    "Blue Yonder Airlines", "City Power & Light", "Coho Winery", "Consolidated Messenger",
    "Fourth Coffee", "Graphic Design Institute", "Humongous Insurance", "Lucerne Publishing",
    "Margie's Travel", "Munson's Pickles", "Nod Publishers", "Relecloud", "School of Fine Art",
    "Southridge Video", "Trey Research", "VanArsdel", "Wingtip Toys", "First Up Consultants",
)  # fmt: skip

_COUNTRIES = (
    "United States", "United States", "United States", "United Kingdom", "Germany", "Canada",
    "Australia", "France", "Netherlands", "Japan", "Singapore", "Ireland", "Switzerland",
)  # fmt: skip
#: Management modes (customer, partner, to be configured), weighted: most partners manage.
_MANAGEMENT_MODES = (1, 1, 1, 1, 1, 1, 0, 0, 2)

#: Share of services whose newest run is still going on at ``now``.
RUNNING_SHARE = 0.01


@dataclass(frozen=True, slots=True)
class SimulatedCustomer:
    id: uuid.UUID
    name: str
    services: tuple[tuple[int, int], ...]
    #: Services that are enabled but have never run.
    never_run: tuple[tuple[int, int], ...] = ()
    profile: CustomerProfile = NO_PROFILE


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _some(rng: random.Random, shares: tuple[tuple[int, float], ...]) -> list[int]:
    return [module for module, share in shares if rng.random() < share]


def _with_scans(job_type: int, modules: list[int]) -> list[tuple[int, int]]:
    """A backup service per module, and a scan service beside each."""
    return [(_SCANNED[job_type], m) for m in modules] + [(job_type, m) for m in modules]


def simulated_customer(rng: random.Random, index: int) -> SimulatedCustomer:
    """Customer number ``index`` with its services, ordered by jobType, jobModule."""
    base = _NAMES[index % len(_NAMES)]
    name = base if index < len(_NAMES) else f"{base} {index // len(_NAMES) + 1}"
    services: list[tuple[int, int]] = []
    roll = rng.random()
    if roll < 0.9:
        modules = [*_M365_CORE, *_some(rng, _M365_COMMON), *_some(rng, _M365_RARE)]
        services += _with_scans(_M365, sorted(modules))
    if roll > 0.55:
        services += _with_scans(_GOOGLE, sorted([*_GOOGLE_CORE, *_some(rng, _GOOGLE_COMMON)]))
    if rng.random() < 0.3:
        services += [(_IAAS, m) for m in sorted(rng.sample(_IAAS_MODULES, rng.randint(1, 8)))]
    if rng.random() < 0.1:
        modules = rng.sample(_DYNAMICS_MODULES, rng.randint(1, 2))
        services += [(_DYNAMICS, m) for m in sorted(modules)]
    if rng.random() < 0.08:
        services.append((_SALESFORCE, 0))
    services.sort()
    never_run: tuple[tuple[int, int], ...] = ()
    if rng.random() < 0.1 and len(services) > 1:
        never_run = (services.pop(rng.randrange(len(services))),)
    customer_id = _uuid(rng)
    profile = _profile(name, customer_id, services)
    return SimulatedCustomer(customer_id, name, tuple(services), never_run, profile)


def _profile(name: str, customer_id: uuid.UUID, services: list[tuple[int, int]]) -> CustomerProfile:
    """An owner, a country, a management mode and a tenant per cloud: drawn from a
    generator of the customer's own (the shared one draws the same as before)."""
    rng = random.Random(customer_id.int)
    domain = "".join(ch for ch in name.lower() if ch.isalnum())
    tenants = []
    if any(job_type in (_M365, _DYNAMICS) for job_type, _ in services):
        tenants.append(Tenant(str(_uuid(rng)), f"{domain}.onmicrosoft.com"))
    if any(job_type == _GOOGLE for job_type, _ in services):
        tenants.append(Tenant(str(_uuid(rng)), f"{domain}.com"))  # GUIDs, as the vendor's
    return CustomerProfile(
        owner_email=f"{rng.choice(('admin', 'it', 'backup'))}@{domain}.com",
        country_or_region=rng.choice(_COUNTRIES),
        management_mode=rng.choice(_MANAGEMENT_MODES),
        tenants=tuple(tenants),
    )


def partner_plan(name: str, customers: Sequence[SimulatedCustomer], app: str) -> PartnerPlan:
    """A partner of ``customers`` (their services that never ran enabled) and one app
    ``app`` with every permission, seeing every customer."""
    return PartnerPlan(
        name,
        customers=tuple(
            CustomerPlan(c.name, c.id, services=c.never_run, profile=c.profile) for c in customers
        ),
        apps=(AppPlan(app),),
    )


def _outcome(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.88:
        return FINISHED
    if roll < 0.95:
        return FINISHED_WITH_EXCEPTION
    if roll < 0.985:
        return FAILED
    return CANCELED if roll < 0.995 else ERROR_START


def service_runs(
    rng: random.Random,
    customer: SimulatedCustomer,
    service: tuple[int, int],
    *,
    days: int,
    now: datetime,
    job_prefix: str = "SJ",
    last_status: int | None = None,
) -> Iterator[JobRecord]:
    """One nightly run of ``service`` per day for ``days`` days up to ``now``.

    ``last_status`` fixes the outcome of the newest run (``RUNNING`` makes it run now).
    A scan (jobType 0 or 10) counts objects and backs up nothing.
    """
    job_type, job_module = service
    scan = job_type in _SCANNED.values()
    objects, object_bytes = _SCALE.get(job_module, _DEFAULT_SCALE)
    objects = int(objects * rng.uniform(0.2, 2.0))
    size_per_object = 0 if scan else int(object_bytes * rng.uniform(0.5, 1.5))
    start_hour = rng.uniform(0.5, 4.0) - (1.0 if scan else 0.0)
    per_object = rng.uniform(0.001, 0.005) if scan else rng.uniform(0.005, 0.05)
    first_day = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    module_name = JOB_MODULES.require(job_module).display
    label = f"Nightly {module_name} scan" if scan else f"Nightly {module_name}"
    named = rng.random() < 0.7
    key = f"{customer.id.hex[:12]}{job_type:02d}{job_module:03d}"
    if last_status is None and rng.random() < RUNNING_SHARE:
        last_status = RUNNING
    for day in range(1, days + 1):
        start = first_day + timedelta(days=day, hours=start_hour + rng.uniform(-0.25, 0.25))
        if start >= now:
            break
        objects = max(1, int(objects * rng.uniform(0.995, 1.01)))
        is_last = day == days or start + timedelta(days=1) >= now
        status = last_status if is_last and last_status is not None else _outcome(rng)
        if status == RUNNING:
            start = now - timedelta(minutes=rng.uniform(5, 90))
        seconds = rng.uniform(60, 300) + objects * per_object
        end: datetime | None = start + timedelta(seconds=seconds)
        if status == RUNNING or (end is not None and end > now):
            status, end = RUNNING, None
        failed = warnings = skipped = 0
        total = objects
        if status == FAILED:
            failed = rng.randint(1, max(1, total // 20))
        elif status == FINISHED_WITH_EXCEPTION:
            failed = rng.randint(0, max(1, total // 500))
            warnings = rng.randint(1, max(1, total // 200))
        elif status == ERROR_START:
            total, end = 0, start + timedelta(seconds=rng.uniform(1, 30))
        skipped = rng.randint(0, max(0, total // 1000))
        successful = max(0, total - failed - skipped) if status != RUNNING else total // 2
        yield JobRecord(
            job_id=f"{job_prefix}{start:%Y%m%d%H%M%S}{key}",
            customer_id=customer.id,
            job_type=job_type,
            job_module=job_module,
            status=status,
            name=label if named else None,
            total_count=total,
            failed_count=failed,
            successful_count=successful,
            skipped_count=skipped,
            warning_count=warnings,
            backup_size_bytes=successful * size_per_object,
            start_time=start,
            end_time=end,
            last_modify_time=end or now,
        )


def customer_history(
    seed: int, index: int, *, days: int, now: datetime
) -> tuple[SimulatedCustomer, list[JobRecord]]:
    """Customer ``index`` of ``seed`` and ``days`` days of its jobs up to ``now``."""
    rng = random.Random(f"backupjobs-simulation:{seed}:{index}")
    customer = simulated_customer(rng, index)
    runs = [
        record
        for service in customer.services
        for record in service_runs(rng, customer, service, days=days, now=now)
    ]
    return customer, runs
