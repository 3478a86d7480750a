"""Customers: what the customer rows of both API generations are made from."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID


class CustomerState(Protocol):
    """A customer as read from the store (a row with these attributes)."""

    @property
    def id(self) -> UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
