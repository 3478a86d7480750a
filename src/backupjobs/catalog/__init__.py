"""Job types, job modules and statuses: codes, seed names and display names.

>>> from backupjobs.catalog import JOB_MODULES
>>> JOB_MODULES.parse("SharePoint Online").code
302
"""

from backupjobs.catalog.codes import (
    CUSTOMER_JOB_STATUSES,
    FAILED,
    FINISHED,
    FINISHED_WITH_EXCEPTION,
    JOB_MODULES,
    JOB_TYPES,
    MANAGEMENT_MODES,
    NOT_FINISHED,
    RUNNING,
    STATUSES,
    AmbiguousCodeError,
    Code,
    CodeTable,
    UnknownCodeError,
)

__all__ = [
    "CUSTOMER_JOB_STATUSES",
    "FAILED",
    "FINISHED",
    "FINISHED_WITH_EXCEPTION",
    "JOB_MODULES",
    "JOB_TYPES",
    "MANAGEMENT_MODES",
    "NOT_FINISHED",
    "RUNNING",
    "STATUSES",
    "AmbiguousCodeError",
    "Code",
    "CodeTable",
    "UnknownCodeError",
]
