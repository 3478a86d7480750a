"""Wire formats of both API generations: times, durations, sizes and rows. Rendering
only: what is rendered (:mod:`backupjobs.model`) and where it comes from live elsewhere.

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
from backupjobs.wire.rows import (
    JobRendering,
    JobRow,
    ModernCustomerRow,
    ModernJobRow,
    TenantRow,
    V3CustomerRow,
    V3JobRow,
    modern_customer_row,
    modern_job_row,
    running_duration,
    v3_customer_row,
    v3_job_row,
)

__all__ = [
    "NOT_AVAILABLE",
    "ZERO_SIZE",
    "JobRendering",
    "JobRow",
    "ModernCustomerRow",
    "ModernJobRow",
    "TenantRow",
    "V3CustomerRow",
    "V3JobRow",
    "format_count",
    "format_duration",
    "format_seconds",
    "format_size",
    "format_text",
    "format_time",
    "modern_customer_row",
    "modern_job_row",
    "running_duration",
    "v3_customer_row",
    "v3_job_row",
]
