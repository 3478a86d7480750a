"""ISO 8601 durations, as ``staleAfter`` and ``BACKUPJOBS_STALE_AFTER`` take them.

>>> parse_duration("PT36H")
datetime.timedelta(days=1, seconds=43200)
>>> format_iso_duration(parse_duration("P1DT12H"))
'PT36H'

Weeks, days, hours, minutes and seconds (``P2W``, ``P1DT2H30M``, ``PT90S``, ``PT0.5S``);
years and months are refused, as their length depends on the calendar.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?",
    re.IGNORECASE,
)
#: The longest duration accepted (ten years): beyond it, arithmetic on times overflows.
MAX_DURATION = timedelta(days=3653)


def parse_duration(text: str) -> timedelta:
    """A positive ISO 8601 duration; ``ValueError`` saying what is accepted otherwise."""
    match = _DURATION.fullmatch(text.strip())
    parts = {name: value for name, value in (match.groupdict() if match else {}).items() if value}
    if not parts or text.strip().upper().endswith("T"):
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration such as PT36H, P2D or PT90M "
            "(weeks, days, hours, minutes, seconds)"
        )
    try:
        duration = timedelta(**{name: float(value) for name, value in parts.items()})
    except OverflowError:
        duration = MAX_DURATION * 2
    if duration <= timedelta(0) or duration > MAX_DURATION:
        raise ValueError(f"{text!r} must be more than zero and at most {MAX_DURATION.days} days")
    return duration


def format_iso_duration(duration: timedelta) -> str:
    """A duration as ISO 8601 in hours, minutes and seconds: ``PT36H``, ``PT1H30M``."""
    seconds = int(duration.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "PT" + "".join(
        f"{value}{unit}" for value, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if value
    )
    return text if text != "PT" else "PT0S"
