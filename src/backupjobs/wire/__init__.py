"""Wire formats of both API generations: times, durations, sizes and rows.

>>> from backupjobs.wire import format_size
>>> format_size(0)
'0 GB'
"""

from backupjobs.wire.formats import (
    NOT_AVAILABLE,
    ZERO_SIZE,
    format_count,
    format_duration,
    format_seconds,
    format_size,
    format_text,
    format_time,
)
from backupjobs.wire.records import (
    MAX_RECORDS_PER_REQUEST,
    JobRecord,
    RecordError,
    describe_error,
    parse_record,
    record_job_id,
)
from backupjobs.wire.rows import (
    CustomerRow,
    CustomerState,
    ModernJobRow,
    ServiceState,
    V3JobRow,
    customer_row,
    modern_job_row,
    v3_job_row,
)

__all__ = [
    "MAX_RECORDS_PER_REQUEST",
    "NOT_AVAILABLE",
    "ZERO_SIZE",
    "CustomerRow",
    "CustomerState",
    "JobRecord",
    "ModernJobRow",
    "RecordError",
    "ServiceState",
    "V3JobRow",
    "customer_row",
    "describe_error",
    "format_count",
    "format_duration",
    "format_seconds",
    "format_size",
    "format_text",
    "format_time",
    "modern_job_row",
    "parse_record",
    "record_job_id",
    "v3_job_row",
]
