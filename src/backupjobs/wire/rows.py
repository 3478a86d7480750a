"""Job and customer rows exactly as each API generation writes them.

Both generations render the same :class:`~backupjobs.model.ServiceState`: a backup
service and its latest job, or no job (the placeholder row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Generic, Protocol, TypeVar

import msgspec

from backupjobs.catalog import JOB_MODULES, JOB_TYPES, NOT_FINISHED, RUNNING, STATUSES
from backupjobs.model import CustomerState, ServiceState
from backupjobs.wire.formats import (
    NOT_AVAILABLE,
    ZERO_SIZE,
    format_count,
    format_duration,
    format_size,
    format_text,
    format_time,
)


class V3JobRow(msgspec.Struct, frozen=True):
    """A row of the v3 jobs endpoint, fields in the seed's order."""

    jobType: int
    jobModule: int
    status: int
    jobId: str
    name: str
    totalCount: str
    failedCount: str
    successfulCount: str
    skippedCount: str
    warningCount: str
    backupSize: str
    startTime: str
    endTime: str
    jobDuration: str
    lastModifyTime: str


class ModernJobRow(msgspec.Struct, frozen=True):
    """A row of the Modern jobs feeds: every value a string, codes written as names."""

    jobType: str
    jobModule: str
    status: str
    jobId: str
    name: str
    totalCount: str
    failedCount: str
    successfulCount: str
    skippedCount: str
    warningCount: str
    backupSize: str
    startTime: str
    endTime: str
    jobDuration: str
    lastModifyTime: str


class CustomerRow(msgspec.Struct, frozen=True):
    """A customer row; the same in both generations."""

    customerId: str
    customerName: str
    createdTime: str


def _job_strings(state: ServiceState, now: datetime) -> tuple[str, ...]:
    """The string fields shared by both generations, jobId to lastModifyTime, in order."""
    if state.job_id is None:
        counts = "0"
        return (
            NOT_AVAILABLE, NOT_AVAILABLE, counts, counts, counts, counts, counts,
            ZERO_SIZE, NOT_AVAILABLE, NOT_AVAILABLE, NOT_AVAILABLE, NOT_AVAILABLE,
        )  # fmt: skip
    return (
        state.job_id,
        format_text(state.name),
        format_count(state.total_count),
        format_count(state.failed_count),
        format_count(state.successful_count),
        format_count(state.skipped_count),
        format_count(state.warning_count),
        format_size(state.backup_size_bytes),
        format_time(state.start_time),
        format_time(state.end_time),
        format_duration(state.start_time, state.end_time, running=state.status == RUNNING, now=now),
        format_time(state.last_modify_time),
    )


class JobRow(Protocol):
    """What both generations' job rows have: the duration is the part that moves."""

    @property
    def jobDuration(self) -> str: ...


R = TypeVar("R", bound=JobRow)
T = TypeVar("T")

#: Rows remembered per API generation (about half a kilobyte each); past this, the
#: oldest are forgotten first. Running jobs' rows count apart, as many again at most.
REMEMBERED_ROWS = 40_000
#: Pages (lists of rows) remembered per API generation. (A page kept here keeps its
#: states too, when the store has forgotten them.)
REMEMBERED_LISTS = 4_000
_encoder = msgspec.json.Encoder()


K = TypeVar("K")


def _remember(cache: dict[K, T], key: K, value: T, *, limit: int = REMEMBERED_ROWS) -> T:
    """``cache[key] = value``, forgetting the oldest entry first when ``limit`` are kept."""
    if len(cache) >= limit:
        del cache[next(iter(cache))]
    cache[key] = value
    return value


_DURATION_FIELD = b'"jobDuration":"'


class _RunningPage:
    """A remembered page holding running jobs: its JSON cut around their durations.

    ``pieces[0] + duration(running[0]) + pieces[1] + ... + pieces[-1]`` is the array: the
    rest of a running job's row does not change while its state does not.
    """

    __slots__ = ("pieces", "running")

    def __init__(self, pieces: list[bytes], running: list[ServiceState]) -> None:
        self.pieces = pieces
        self.running = running

    def at(self, now: datetime) -> msgspec.Raw:
        pieces = self.pieces
        parts = [pieces[0]]
        for state, piece in zip(self.running, pieces[1:], strict=True):
            # A duration is ASCII letters and digits ("N/A" at most): JSON as it is.
            parts.append(_running_duration(state, now).encode())
            parts.append(piece)
        return msgspec.Raw(b"".join(parts))


def _running_duration(state: ServiceState, now: datetime) -> str:
    return format_duration(state.start_time, state.end_time, running=True, now=now)


class Remembered(Generic[R]):
    """A row function whose JSON is made once per distinct state: ``v3_job_row(state,
    now)`` is a row, and ``v3_job_row.encoded(states, now)`` the JSON array of a page's
    rows, ready to embed in a response (``msgspec.Raw``).

    A state is remembered by its values, so a changed job is a new key. A running job's
    row differs only by its duration, which grows: its row is remembered and only the
    duration written anew.

    ``recurring`` pages (the same list object while unchanged, see
    :class:`~backupjobs.store.paging.Page`) are remembered whole, as one contiguous
    array (cut around the durations of its running jobs, if it has any), which is
    cheaper to copy into a response than a row at a time; their rows are not kept apart
    (a changed page is rendered again, once). Other pages (filtered, or cut from a
    longer list) are made of remembered rows.
    """

    def __init__(self, render: Callable[[ServiceState, datetime], R]) -> None:
        self._render = render
        self._encoded: dict[ServiceState, bytes] = {}
        self._running: dict[ServiceState, R] = {}
        # By id() of a list of states: the list (which keeps its id from being reused
        # while it is here) and its array, or the pieces of it.
        self._lists: dict[int, tuple[Sequence[ServiceState], msgspec.Raw | _RunningPage]] = {}
        self.__doc__ = render.__doc__

    def __call__(self, state: ServiceState, now: datetime) -> R:
        return self._render(state, now)

    def encoded(
        self, states: Sequence[ServiceState], now: datetime, *, recurring: bool = False
    ) -> msgspec.Raw:
        known = self._lists.get(id(states))
        if known is None or known[0] is not states:
            if not recurring:
                rows = [self._row(state, now) for state in states]
                return msgspec.Raw(b"[" + b",".join(rows) + b"]")
            known = (states, self._whole(states, now))
            _remember(self._lists, id(states), known, limit=REMEMBERED_LISTS)
        page = known[1]
        return page if isinstance(page, msgspec.Raw) else page.at(now)

    def _whole(self, states: Sequence[ServiceState], now: datetime) -> msgspec.Raw | _RunningPage:
        """A recurring page to remember: its array, or the pieces around its durations."""
        pieces: list[bytes] = []
        running: list[ServiceState] = []
        current = bytearray(b"[")
        for position, state in enumerate(states):
            if position:
                current += b","
            row = _encoder.encode(self._render(state, now))
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
            return msgspec.Raw(bytes(current))
        pieces.append(bytes(current))
        return _RunningPage(pieces, running)

    def _row(self, state: ServiceState, now: datetime) -> bytes:
        if state.status == RUNNING:
            return _encoder.encode(self._running_row(state, now))
        row = self._encoded.get(state)
        if row is None:
            row = _remember(self._encoded, state, _encoder.encode(self._render(state, now)))
        return row

    def _running_row(self, state: ServiceState, now: datetime) -> R:
        row = self._running.get(state)
        if row is None:
            return _remember(self._running, state, self._render(state, now))
        return msgspec.structs.replace(row, jobDuration=_running_duration(state, now))  # type: ignore[type-var]


def _v3_job_row(state: ServiceState, now: datetime) -> V3JobRow:
    """The v3 row; the placeholder (status 0, "N/A", "0", "0 GB") for a service with no job."""
    status = 0 if state.job_id is None or state.status is None else state.status
    return V3JobRow(state.job_type, state.job_module, status, *_job_strings(state, now))


def _modern_job_row(state: ServiceState, now: datetime) -> ModernJobRow:
    """The Modern row; a service with no job is "Not Finished" as in the seed's sample."""
    if state.job_id is None or state.status is None:
        status = NOT_FINISHED
    else:
        status = STATUSES.require(state.status).display
    return ModernJobRow(
        JOB_TYPES.require(state.job_type).display,
        JOB_MODULES.require(state.job_module).display,
        status,
        *_job_strings(state, now),
    )


v3_job_row = Remembered(_v3_job_row)
modern_job_row = Remembered(_modern_job_row)


def customer_row(customer: CustomerState) -> CustomerRow:
    return CustomerRow(str(customer.id), customer.name, format_time(customer.created_at))
