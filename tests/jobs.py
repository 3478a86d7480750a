"""Job records and job pages below the HTTP API: records for the store, pages read back
from the read model as service states."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec

from backupjobs.model import ServiceState, parse_record
from backupjobs.readmodel import EncodedPage
from backupjobs.store.scope import TenantScope
from tests.world import job

START = datetime(2025, 9, 1, 3, tzinfo=UTC)
NOW = datetime(2025, 9, 12, tzinfo=UTC)

#: The seed sample's job (``000_08c226e510f1a017.txt``) as a service's state.
SEED_JOB = ServiceState(
    job_type=7,
    job_module=304,
    job_id="FB20250911032116214502",
    status=3,
    total_count=2323,
    failed_count=0,
    successful_count=2323,
    skipped_count=0,
    warning_count=0,
    backup_size_bytes=0,
    start_time=datetime(2025, 9, 11, 3, 21, 16, 800000, tzinfo=UTC),
    end_time=datetime(2025, 9, 11, 3, 38, 56, 200000, tzinfo=UTC),
    last_modify_time=datetime(2025, 9, 11, 3, 38, 57, tzinfo=UTC),
)


def seed_job(**changes):
    """The seed sample's job, with ``changes``."""
    return msgspec.structs.replace(SEED_JOB, **changes)


def record(customer, job_id, **fields):
    return parse_record(msgspec.json.encode(job(customer, job_id, **fields)))


def nightly(customer, module, day, **fields):
    """The run of ``day`` (after START) of the customer's Microsoft 365 ``module``."""
    start = START + timedelta(days=day)
    return record(
        customer,
        f"J-{customer.hex[:6]}-{module}-{day}",
        jobModule=module,
        startTime=start.isoformat(),
        endTime=(start + timedelta(minutes=30)).isoformat(),
        lastModifyTime=(start + timedelta(minutes=30)).isoformat(),
        **fields,
    )


def scope(tenant):
    return TenantScope(tenant.partner_id, tenant.client_id)


def as_state(state, _now):
    """A rendering that writes a row as the service state itself, to read it back."""
    return state


@dataclass
class Read:
    """A page as the read model encoded it, and its rows read back as states."""

    encoded: EncodedPage

    @property
    def rows(self):
        return msgspec.json.decode(self.encoded.rows, type=list[ServiceState])

    @property
    def total(self):
        return self.encoded.total


async def page(read_model, tenant, customer, **filters):
    """A page of the customer's services as ``tenant``'s app sees it; None: not visible."""
    found = await read_model.job_page(scope(tenant), customer, rendering=as_state, **filters)
    return None if found is None else Read(found)
