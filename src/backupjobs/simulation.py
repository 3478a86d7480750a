"""Realistic, deterministic backup histories, for the demo and for load tests.

>>> import random
>>> rng = random.Random(7)
>>> tenant = simulated_customer(rng, 0)
>>> len(tenant.services) > 0
True

Each customer protects a mix of services (most Microsoft 365 with several modules, some
Google Workspace, a few IaaS PaaS, Dynamics 365 and Salesforce); each service runs a
nightly job with a duration, size and outcome typical of its module.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from backupjobs.catalog import FAILED, FINISHED, FINISHED_WITH_EXCEPTION, JOB_MODULES, RUNNING
from backupjobs.wire import JobRecord

CANCELED = 8
ERROR_START = 7

_M365 = 7
_GOOGLE = 11
_IAAS = 12
_SALESFORCE = 15
_DYNAMICS = 16

_M365_CORE = (302, 303, 304, 305, 308)
_M365_EXTRA = (306, 307, 310, 311, 312, 402)
_GOOGLE_MODULES = (501, 502, 503, 504, 505, 508)
_IAAS_MODULES = (356, 357, 358, 359, 362, 365)
_DYNAMICS_MODULES = (401, 550)

# Typical objects per run and bytes per object, by module (others use the default).
_SCALE = {
    302: (40_000, 900_000),
    303: (120_000, 80_000),
    304: (3_000, 400_000),
    305: (60_000, 1_500_000),
    308: (8_000, 250_000),
    356: (12, 60_000_000_000),
    357: (20, 30_000_000_000),
    359: (400, 200_000_000),
    362: (6, 8_000_000_000),
    501: (90_000, 70_000),
    504: (50_000, 1_200_000),
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


@dataclass(frozen=True, slots=True)
class SimulatedCustomer:
    id: uuid.UUID
    name: str
    services: tuple[tuple[int, int], ...]
    #: Services that are enabled but have never run.
    never_run: tuple[tuple[int, int], ...] = ()


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def simulated_customer(rng: random.Random, index: int) -> SimulatedCustomer:
    """Customer number ``index`` with its services."""
    base = _NAMES[index % len(_NAMES)]
    name = base if index < len(_NAMES) else f"{base} {index // len(_NAMES) + 1}"
    services: list[tuple[int, int]] = []
    roll = rng.random()
    if roll < 0.8:
        modules = list(_M365_CORE[: rng.randint(3, 5)])
        modules += rng.sample(_M365_EXTRA, rng.randint(0, 2))
        services += [(_M365, m) for m in sorted(modules)]
    if roll > 0.65:
        services += [(_GOOGLE, m) for m in sorted(rng.sample(_GOOGLE_MODULES, rng.randint(2, 4)))]
    if rng.random() < 0.15:
        services += [(_IAAS, m) for m in sorted(rng.sample(_IAAS_MODULES, rng.randint(1, 3)))]
    if rng.random() < 0.08:
        services += [(_DYNAMICS, m) for m in sorted(rng.sample(_DYNAMICS_MODULES, 1))]
    if rng.random() < 0.06:
        services.append((_SALESFORCE, 0))
    never_run: tuple[tuple[int, int], ...] = ()
    if rng.random() < 0.1 and len(services) > 1:
        never_run = (services.pop(),)
    return SimulatedCustomer(_uuid(rng), name, tuple(services), never_run)


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
    """
    job_type, job_module = service
    objects, object_bytes = _SCALE.get(job_module, _DEFAULT_SCALE)
    objects = int(objects * rng.uniform(0.2, 2.0))
    size_per_object = int(object_bytes * rng.uniform(0.5, 1.5))
    start_hour = rng.uniform(0.5, 4.0)
    first_day = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(1, days + 1):
        start = first_day + timedelta(days=day, hours=start_hour + rng.uniform(-0.25, 0.25))
        if start >= now:
            break
        objects = max(1, int(objects * rng.uniform(0.995, 1.01)))
        is_last = day == days or start + timedelta(days=1) >= now
        status = last_status if is_last and last_status is not None else _outcome(rng)
        if status == RUNNING:
            start = now - timedelta(minutes=rng.uniform(5, 90))
        seconds = rng.uniform(60, 300) + objects * rng.uniform(0.005, 0.05)
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
        stamp = f"{start:%Y%m%d%H%M%S}"
        yield JobRecord(
            job_id=f"{job_prefix}{stamp}{customer.id.hex[:12]}{job_module:03d}",
            customer_id=customer.id,
            job_type=job_type,
            job_module=job_module,
            status=status,
            name=f"Nightly {JOB_MODULES.require(job_module).display}"
            if rng.random() < 0.7
            else None,
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
