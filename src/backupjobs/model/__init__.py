"""The domain's types: backup services, job records, customers. Pure: no I/O, no framework.

>>> from backupjobs.model import ServiceState
>>> ServiceState(7, 302).job_id is None   # a service that has never run
True

Every other package may import this one; it imports only msgspec and the catalog.
"""

from backupjobs.model.customers import (
    DEFAULT_MANAGEMENT_MODE,
    NO_PROFILE,
    CustomerProfile,
    CustomerState,
    Tenant,
)
from backupjobs.model.records import (
    IngestResult,
    JobRecord,
    RecordError,
    Rejection,
    describe_error,
    parse_record,
    record_job_id,
)
from backupjobs.model.services import ServiceKey, ServiceState, latest_sort_key

__all__ = [
    "DEFAULT_MANAGEMENT_MODE",
    "NO_PROFILE",
    "CustomerProfile",
    "CustomerState",
    "IngestResult",
    "JobRecord",
    "RecordError",
    "Rejection",
    "ServiceKey",
    "ServiceState",
    "Tenant",
    "describe_error",
    "latest_sort_key",
    "parse_record",
    "record_job_id",
]
