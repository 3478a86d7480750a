"""Permissions an app registration can be granted; each is also an OAuth2 scope value."""

from __future__ import annotations

from enum import StrEnum

from backupjobs.catalog.suggestions import did_you_mean


class Permission(StrEnum):
    V3_JOBS_READ = "elements.jobs.read.all"
    V3_CUSTOMERS_READ = "elements.customers.read.all"
    JOBS_WRITE = "elements.jobs.write.all"
    MODERN_JOBS_READ = "partner.jobs.read.all"
    MODERN_CUSTOMERS_READ = "partner.customers.read.all"
    ALERTS_MANAGE = "elements.alerts.manage.all"


ALL_PERMISSIONS = frozenset(p.value for p in Permission)


class UnknownPermissionError(ValueError):
    def __init__(self, value: str) -> None:
        known = ", ".join(sorted(ALL_PERMISSIONS))
        close = did_you_mean(value, ALL_PERMISSIONS)
        super().__init__(f"unknown permission {value!r}{close} (known: {known})")
        self.value = value


def parse_permissions(values: list[str]) -> frozenset[str]:
    """Permissions named in ``values`` (each may itself be space-separated)."""
    granted: set[str] = set()
    for value in values:
        for item in value.split():
            if item not in ALL_PERMISSIONS:
                raise UnknownPermissionError(item)
            granted.add(item)
    return frozenset(granted)
