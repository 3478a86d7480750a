"""The history feed's report sets as ``$metadata`` declares them: ``Customers`` and
``DailyOutcomes``, their properties, keys, and how ``$filter`` reads each property.

>>> CUSTOMERS.qualified
'Backupjobs.History.Customer'
>>> DAILY_OUTCOMES.key
('customerId', 'date')

Their rows are computed by :mod:`.odata_reports` and paged by :mod:`.odata_report_pages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from backupjobs.api.odata_filter import (
    DATE,
    DATETIME,
    GUID,
    INT,
    STRING,
    ValueProperty,
    catalog_name,
)
from backupjobs.catalog import CUSTOMER_JOB_STATUSES, STATUSES

NAMESPACE = "Backupjobs.History"
FILTER = "$filter"


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    edm: str
    nullable: bool = False
    #: How ``$filter`` reads it (None: not filterable).
    filter: ValueProperty | None = None


@dataclass(frozen=True, slots=True)
class ReportSet:
    """An entity set of the feed whose rows are computed: its names, properties and key."""

    name: str
    entity: str
    properties: tuple[Property, ...]
    key: tuple[str, ...]
    description: str

    @property
    def qualified(self) -> str:
        return f"{NAMESPACE}.{self.entity}"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties)

    @property
    def filterable(self) -> dict[str, ValueProperty]:
        return {p.name: p.filter for p in self.properties if p.filter is not None}

    def csdl(self) -> list[str]:
        """The entity type, as ``$metadata`` declares it."""
        return [
            f'<EntityType Name="{self.entity}">',
            "<Key>",
            *(f'<PropertyRef Name="{name}"/>' for name in self.key),
            "</Key>",
            *(
                f'<Property Name="{p.name}" Type="{p.edm}" Nullable="{str(p.nullable).lower()}"/>'
                for p in self.properties
            ),
            "</EntityType>",
        ]


def _counts(name: str, edm: str = "Edm.Int64", nullable: bool = False) -> Property:
    return Property(name, edm, nullable, ValueProperty(INT, nullable=nullable))


CUSTOMERS = ReportSet(
    "Customers",
    "Customer",
    (
        Property("customerId", "Edm.Guid", filter=ValueProperty(GUID)),
        Property("customerName", "Edm.String", filter=ValueProperty(STRING)),
        Property("jobStatus", "Edm.Int32", filter=ValueProperty(INT)),
        Property(
            "jobStatusName",
            "Edm.String",
            filter=ValueProperty(
                STRING, convert=catalog_name(CUSTOMER_JOB_STATUSES, attrgetter("display"))
            ),
        ),
        _counts("services", "Edm.Int32"),
        _counts("failingServices", "Edm.Int32"),
        _counts("staleServices", "Edm.Int32"),
        _counts("backupSizeBytes"),
        Property(
            "lastSuccessTime", "Edm.DateTimeOffset", True, ValueProperty(DATETIME, nullable=True)
        ),
    ),
    ("customerId",),
    "Each visible customer with its health now, as /api/v1/summary gives it: jobStatus "
    "(as in the Modern API's customers) and its name, its services in use, the failing "
    "and the stale ones (stale after the custom query option staleAfter, an ISO 8601 "
    "duration, default the server's), the sum of their latest jobs' bytes and the last "
    "successful job's time.",
)


def _status_property(display: str) -> str:
    return "jobs" + "".join(word.capitalize() for word in display.split())


#: ``DailyOutcomes``' job counts by status: a property per catalog status.
STATUS_PROPERTIES: dict[int, str] = {s.code: _status_property(s.display) for s in STATUSES}

DAILY_OUTCOMES = ReportSet(
    "DailyOutcomes",
    "DailyOutcome",
    (
        Property("customerId", "Edm.Guid", filter=ValueProperty(GUID)),
        Property("date", "Edm.Date", filter=ValueProperty(DATE)),
        _counts("jobs"),
        _counts("backupSizeBytes"),
        _counts("durationSeconds"),
        *(_counts(name) for name in STATUS_PROPERTIES.values()),
    ),
    ("customerId", "date"),
    "One entry per visible customer and calendar day, as /api/v1/daily gives it: the jobs "
    "started that day, by status (jobsFinished, jobsFailed, ...), their bytes and seconds. "
    "Days are calendar days in the time zone of the custom query option tz (an IANA name "
    "such as Europe/Berlin); without it, in UTC. The days read are those that $filter "
    "bounds with and (date ge 2026-11-01 and date lt 2026-12-01); without a bound, the "
    "last 7 days up to today.",
)

REPORT_SETS = (CUSTOMERS, DAILY_OUTCOMES)
