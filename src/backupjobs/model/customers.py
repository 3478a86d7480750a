"""Customers: what the customer rows of both API generations are made from.

>>> from uuid import UUID
>>> customer = CustomerState(UUID(int=1), "Contoso", job_status=CustomerJobStatus.WORKING)
>>> customer.management_mode, customer.tenants
(2, ())
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from backupjobs.model.health import CustomerJobStatus

#: A customer's management mode until an operator says who manages its tenants
#: (``catalog.MANAGEMENT_MODES``: "To be configured").
DEFAULT_MANAGEMENT_MODE = 2


class Tenant(msgspec.Struct, frozen=True):
    """One of a customer's tenants, as the vendor lists them."""

    id: str
    name: str


class CustomerProfile(msgspec.Struct, frozen=True):
    """A customer's fields beyond its name, as an operator gives them (SPEC §5
    "Customers"); the store checks them on write."""

    owner_email: str = ""
    country_or_region: str = ""
    management_mode: int = DEFAULT_MANAGEMENT_MODE
    tenants: tuple[Tenant, ...] = ()


#: A customer of whom nothing is known beyond its name.
NO_PROFILE = CustomerProfile()


class CustomerState(msgspec.Struct, frozen=True):
    """A customer as read from the store, with its backup health at the time of reading.

    ``owner_email`` and ``country_or_region`` are ``""`` when unknown.
    """

    id: UUID
    organization: str
    owner_email: str = ""
    country_or_region: str = ""
    management_mode: int = DEFAULT_MANAGEMENT_MODE
    job_status: CustomerJobStatus = CustomerJobStatus.NOT_AVAILABLE
    tenants: tuple[Tenant, ...] = ()
