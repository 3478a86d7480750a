"""Typed records: what the wire strings of both API generations mean.

>>> from backupjobs.sdk import Coded
>>> Coded(3, "Failed")
Coded(code=3, name='Failed')

Both generations read into the same :class:`Job`: counts are integers, times are UTC
datetimes, ``backup_size`` is bytes, ``duration`` a timedelta, ``"N/A"`` is None, and job
type, module and status carry both their code and their name whichever one the wire sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from backupjobs.sdk.flows import Call

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Coded:
    """A catalog value with its code and its readable name: ``Coded(7, "Microsoft 365")``.

    ``code`` is None for a name this SDK's catalog does not know (a Modern API answer
    from a service that has added one); a code it does not know has its number as name.
    """

    code: int | None
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Job:
    """One backup service of a customer and its latest job.

    A service that has never run has ``job_id`` None (the placeholder row): status code 0
    (``"None"`` in v3, ``"Not Finished"`` in the Modern API), no times, zero counts.

    ``backup_size`` is in bytes as far as the wire's rounded figure tells (``"1.5 GB"`` is
    1610612736); ``duration`` is the wire's whole seconds.
    """

    customer_id: str
    job_type: Coded
    job_module: Coded
    status: Coded
    job_id: str | None
    name: str | None
    total_count: int | None
    failed_count: int | None
    successful_count: int | None
    skipped_count: int | None
    warning_count: int | None
    backup_size: int | None
    start_time: datetime | None
    end_time: datetime | None
    duration: timedelta | None
    last_modify_time: datetime | None

    @property
    def has_run(self) -> bool:
        """False for a service that has no job yet (the placeholder row)."""
        return self.job_id is not None

    @property
    def service(self) -> tuple[int | None, int | None]:
        """The backup service's key within its customer: (job type code, job module code)."""
        return (self.job_type.code, self.job_module.code)


@dataclass(frozen=True, slots=True)
class Tenant:
    """One of a customer's tenants."""

    id: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer of the partner, as either generation lists it: ``id`` is the tenant
    owner ID, ``job_status`` its backup health (``Coded(2, "Failed")``).

    ``owner_email`` and ``country_or_region`` are None when unknown (``""`` on the wire).
    ``management_mode`` and ``tenants`` are None from the Modern API, which does not send
    them; ``tenants`` is ``()`` for a v3 customer without any.
    """

    id: str
    organization: str | None
    owner_email: str | None = None
    job_status: Coded | None = None
    country_or_region: str | None = None
    management_mode: Coded | None = None
    tenants: tuple[Tenant, ...] | None = None

    @property
    def name(self) -> str | None:
        """The customer's name: its ``organization``."""
        return self.organization


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing: its ``items`` and, when the service says, the ``total``.

    ``total`` counts the items over all pages (v3 ``totalCount``, OData ``@odata.count``).
    """

    items: list[T]
    total: int | None
    #: What to ask for the next page; None on the last one.
    next_call: Call | None = field(default=None, repr=False, compare=False)
