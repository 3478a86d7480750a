"""Job records as backup engines report them, and what ingestion made of them.

Each record of a batch is decoded and checked on its own, so that one bad record is
rejected with a reason while the others are stored.

>>> # record = parse_record(raw)    # a JobRecord, or RecordError naming the bad field
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec

from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES, CodeTable, UnknownCodeError
from backupjobs.catalog.suggestions import CODES_REFERENCE

MAX_JOB_ID_LENGTH = 128
MAX_NAME_LENGTH = 512

_Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_Time = Annotated[datetime, msgspec.Meta(tz=True)]
_JobId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_JOB_ID_LENGTH)]
_Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME_LENGTH)]


class JobRecord(msgspec.Struct, rename="camel", frozen=True):
    """One job run as reported, checked: codes are the catalog's, times in range."""

    job_id: _JobId
    customer_id: UUID
    job_type: int
    job_module: int
    status: int
    last_modify_time: _Time
    name: _Name | None = None
    total_count: _Count | None = None
    failed_count: _Count | None = None
    successful_count: _Count | None = None
    skipped_count: _Count | None = None
    warning_count: _Count | None = None
    backup_size_bytes: _Count | None = None
    start_time: _Time | None = None
    end_time: _Time | None = None


class _Reported(msgspec.Struct, rename="camel", frozen=True, forbid_unknown_fields=True):
    """A record as an engine writes it: :class:`JobRecord`'s fields, codes given by number
    or by catalog name; any other field is an error (a misspelt one is not left out)."""

    job_id: _JobId
    customer_id: UUID
    job_type: int | str
    job_module: int | str
    status: int | str
    last_modify_time: _Time
    name: _Name | None = None
    total_count: _Count | None = None
    failed_count: _Count | None = None
    successful_count: _Count | None = None
    skipped_count: _Count | None = None
    warning_count: _Count | None = None
    backup_size_bytes: _Count | None = None
    start_time: _Time | None = None
    end_time: _Time | None = None


#: The names a record's fields have on the wire.
FIELD_NAMES = tuple(field.encode_name for field in msgspec.structs.fields(_Reported))


class RecordError(ValueError):
    """Why one record cannot be stored."""


_REQUIRED = re.compile(r"Object missing required field `(\w+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(.*)`")
_AT_PATH = re.compile(r"^(.*) - at `\$\.?(.*)`$")
# A record's keys: a JSON string followed by a colon (in valid JSON, only a key is).
_KEY = re.compile(rb'"([^"\\]*(?:\\.[^"\\]*)*)"\s*:')
_TABLES: tuple[tuple[str, CodeTable], ...] = (
    ("job_type", JOB_TYPES),
    ("job_module", JOB_MODULES),
    ("status", STATUSES),
)
_NONE = type(None)
_TIMES = (
    ("start_time", "startTime"),
    ("end_time", "endTime"),
    ("last_modify_time", "lastModifyTime"),
)
# PostgreSQL's timestamptz takes UTC offsets up to 15:59 (and 15:59:59) either way.
_MAX_OFFSET = timedelta(hours=16)


def describe_error(error: msgspec.ValidationError | msgspec.DecodeError) -> str:
    """msgspec's message with the field first: ``startTime: Expected `datetime` ...``."""
    text = str(error)
    required = _REQUIRED.search(text)
    if required:
        return f"{required.group(1)} is required"
    located = _AT_PATH.match(text)
    if located and located.group(2):
        return f"{located.group(2)}: {located.group(1)}"
    return text


def _unknown_field(name: str) -> str:
    """The rejection of an unknown field, with the field meant if one is close."""
    close = difflib.get_close_matches(name, FIELD_NAMES, n=1)
    meant = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown field {name!r}{meant}; a record has {', '.join(FIELD_NAMES)}"


def record_job_id(raw: msgspec.Raw) -> str | None:
    """The ``jobId`` of a raw record if it has a string one, for the rejection report."""
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None
    if isinstance(value, dict):
        job_id = value.get("jobId")
        return job_id if isinstance(job_id, str) else None
    return None


def parse_record(raw: msgspec.Raw) -> JobRecord:
    """Decode and check one record, or raise :class:`RecordError` naming the bad field."""
    try:
        reported = msgspec.json.decode(raw, type=_Reported)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        unknown = _UNKNOWN.search(str(error))
        raise RecordError(
            _unknown_field(unknown.group(1)) if unknown else describe_error(error)
        ) from None
    except RecursionError:
        raise RecordError("a value is nested too deeply") from None
    values = msgspec.structs.astuple(reported)
    _check_keys(raw, values)
    job_type, job_module, status = (
        _code(table, getattr(reported, attribute)) for attribute, table in _TABLES
    )
    if not reported.job_id.strip():
        raise RecordError("jobId must not be blank")
    for text, name in ((reported.job_id, "jobId"), (reported.name, "name")):
        if text is not None and "\x00" in text:
            raise RecordError(f"{name} contains a NUL character (U+0000), which is not stored")
    for attribute, name in _TIMES:
        _check_time(getattr(reported, attribute), name)
    if (
        reported.start_time is not None
        and reported.end_time is not None
        and reported.end_time < reported.start_time
    ):
        raise RecordError("endTime is before startTime")
    return JobRecord(
        reported.job_id,
        reported.customer_id,
        job_type,
        job_module,
        status,
        *values[5:],
    )


def _check_keys(raw: msgspec.Raw, values: tuple[Any, ...]) -> None:
    """A key given twice (msgspec keeps the last): the record says two things.

    Without a backslash in the record every ``"`` opens or closes a string, so a record
    whose keys are all different has two quotes per key and per string value, and a
    repeated key adds two at least. The count is first checked against the decoded
    fields (``values``, :class:`_Reported`'s): two quotes for each that is not None and
    two more for each not written as a number (a string, a UUID, a time), which holds
    when every field is given once and none ``null``, with no second decoding; failing
    that, if fields are None, against the keys the record has (some may be given
    ``null``). A record with an escape, or whose count is off, is read key by key to
    name the key. (``bench.ingest``'s records, 29 % with a null name: 14.6 us a record
    parsed against 16.3 when every record was decoded twice.)
    """
    data = bytes(raw)
    if b"\\" not in data:
        types = list(map(type, values))
        nones = types.count(_NONE)
        quotes = data.count(b'"')
        if quotes == 2 * (2 * (len(types) - nones) - types.count(int)):
            return
        if nones:
            members: dict[str, object] = msgspec.json.decode(data)
            strings = sum(isinstance(value, str) for value in members.values())
            if quotes == 2 * (len(members) + strings):
                return
    seen: set[str] = set()
    for key in _KEY.findall(data):
        name = msgspec.json.decode(b'"' + key + b'"') if b"\\" in key else key.decode()
        if name in seen:
            raise RecordError(f"{name} is given more than once")
        seen.add(name)


def _code(table: CodeTable, value: int | str) -> int:
    try:
        return table.parse(value).code
    except UnknownCodeError as error:
        # A name's error already says where every name is listed; a number's does not.
        said = str(error)
        where = "" if CODES_REFERENCE in said else f" (the codes: {CODES_REFERENCE})"
        raise RecordError(f"{said}{where}") from None


def _check_time(value: datetime | None, name: str) -> None:
    """Times both databases hold: a UTC offset within 15:59, a year 1 to 9999 in UTC."""
    if value is None:
        return
    offset = value.utcoffset()
    if offset is not None and abs(offset) >= _MAX_OFFSET:
        raise RecordError(f"{name} has a UTC offset beyond 15:59 either way: {value.isoformat()}")
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise RecordError(
            f"{name} is outside years 1 to 9999 once in UTC: {value.isoformat()}"
        ) from None


@dataclass(slots=True)
class Rejection:
    """A record of a batch that was not stored, by its position in the batch."""

    index: int
    job_id: str | None
    error: str


@dataclass(slots=True)
class IngestResult:
    """What happened to each record of a batch."""

    stored: int = 0
    stale: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    #: Webhook deliveries the batch's alert events made (SPEC §10.5).
    deliveries: int = 0
