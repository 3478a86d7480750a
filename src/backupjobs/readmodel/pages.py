"""Job pages as JSON, made once per page and kept in a :class:`PageCache`.

>>> # page = render_page(states, v3_job_row, now, total=len(states))   # a CachedPage
>>> # encoded = page.at(now)         # EncodedPage: the rows' JSON array, count, total

A page is kept by value: who asks (customer, app), what the customer's services were
(their revision) and what was asked (filters, offset, limit, API generation). A page of
finished jobs is its JSON array, the same bytes on every answer. A running job's row
differs only by its duration, which grows: a page holding running jobs is kept as the
JSON around their durations (:class:`RunningPage`), which are written anew on each
answer.

Every page is kept whole, filtered or cut ones too, rather than assembled from rows kept
one by one, as filtered and cut pages were before this cache. Measured in-process on a
simulated customer's 17 services: a kept page costs 0.19 us (its key, the lookup, the
answer) whatever was asked, where a one-service page assembled from kept rows cost
2.4 us and a 5-row slice 1.8 us (the services filtered and cut, each row looked up, the
array joined); copying rows scattered over memory into each answer had cost more than
the rest of encoding. A page not kept is rendered from the services (the 17 rows: about
0.1 ms, once per revision and question). The cache is bounded by the bytes it holds
(:data:`PAGE_CACHE_BYTES`), oldest first, so that many small filtered pages and fewer
whole ones share one bound.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec

from backupjobs.catalog import RUNNING
from backupjobs.infra.cache import BoundedCache
from backupjobs.model import ServiceState
from backupjobs.wire import JobRendering, running_duration

#: Bytes of JSON kept per process, for every page of both API generations: about 5,000
#: pages of 17 rows.
PAGE_CACHE_BYTES = 32 * 1024 * 1024

_encoder = msgspec.json.Encoder()
_DURATION_FIELD = b'"jobDuration":"'


@dataclass(frozen=True, slots=True)
class EncodedPage:
    """A page of job rows, ready to embed in an answer."""

    #: The rows' JSON array.
    rows: msgspec.Raw
    #: Rows on this page.
    count: int
    #: Matching rows over all pages.
    total: int

    def at(self, _now: datetime) -> EncodedPage:
        """This page at ``now``: itself (it holds no running job)."""
        return self

    @property
    def size(self) -> int:
        return len(self.rows)


class RunningPage:
    """A page holding running jobs: its JSON cut around their durations.

    ``pieces[0] + duration(running[0]) + pieces[1] + ... + pieces[-1]`` is the array:
    the rest of a running job's row does not change while its state does not.
    """

    __slots__ = ("count", "pieces", "running", "size", "total")

    def __init__(
        self, pieces: list[bytes], running: list[ServiceState], *, count: int, total: int
    ) -> None:
        self.pieces = pieces
        self.running = running
        self.count = count
        self.total = total
        self.size = sum(map(len, pieces))

    def at(self, now: datetime) -> EncodedPage:
        pieces = self.pieces
        parts = [pieces[0]]
        for state, piece in zip(self.running, pieces[1:], strict=True):
            # A duration is ASCII letters and digits ("N/A" at most): JSON as it is.
            parts.append(running_duration(state, now).encode())
            parts.append(piece)
        return EncodedPage(msgspec.Raw(b"".join(parts)), self.count, self.total)


#: A page kept: the same answer at any time, or one whose running jobs' durations move.
CachedPage = EncodedPage | RunningPage


def render_page(
    states: Sequence[ServiceState], rendering: JobRendering, now: datetime, *, total: int
) -> CachedPage:
    """The rows of ``states`` (a page of ``total`` matching rows) as one JSON array, or
    its pieces around the durations of its running jobs."""
    pieces: list[bytes] = []
    running: list[ServiceState] = []
    current = bytearray(b"[")
    for position, state in enumerate(states):
        if position:
            current += b","
        row = _encoder.encode(rendering(state, now))
        if state.status == RUNNING:
            cut = row.index(_DURATION_FIELD) + len(_DURATION_FIELD)
            current += row[:cut]
            pieces.append(bytes(current))
            running.append(state)
            current = bytearray(row[row.index(b'"', cut) :])
        else:
            current += row
    current += b"]"
    if not running:
        return EncodedPage(msgspec.Raw(bytes(current)), len(states), total)
    pieces.append(bytes(current))
    return RunningPage(pieces, running, count=len(states), total=total)


#: (customer id as an integer, app client id, services revision, jobType filter,
#: jobModule filter, offset, limit, rendering): everything a page depends on.
PageKey = tuple[int, str, int, int | None, int | None, int, int, Hashable]


def _size(page: CachedPage) -> int:
    return page.size


class PageCache(BoundedCache[PageKey, CachedPage]):
    """Job pages by :data:`PageKey`, at most ``capacity`` bytes of JSON, oldest first."""

    __slots__ = ()

    def __init__(self, capacity: int = PAGE_CACHE_BYTES) -> None:
        super().__init__(capacity, weigh=_size)
