"""Value formats shared by both API generations.

>>> from datetime import datetime, timezone
>>> format_time(datetime(2025, 9, 11, 3, 21, 16, 800000, tzinfo=timezone.utc))
'2025-09-11T03:21:16Z'
>>> format_seconds(7205)
'2h0m5s'
>>> format_size(1536 * 1024**2)
'1.5 GB'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

NOT_AVAILABLE = "N/A"
ZERO_SIZE = "0 GB"

_SECOND = timedelta(seconds=1)
_SIZE_UNITS = ("B", "KB", "MB", "GB", "TB")
_CENT = Decimal("0.01")


def format_time(value: datetime | None) -> str:
    """UTC to the second, ``YYYY-MM-DDTHH:MM:SSZ``; a fraction is cut, never rounded up."""
    if value is None:
        return NOT_AVAILABLE
    utc = value.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def format_seconds(seconds: int) -> str:
    """Whole seconds as ``1d2h0m5s``, leading zero units left out; never negative."""
    seconds = max(seconds, 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m{seconds}s"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h{minutes}m{seconds}s"


def format_duration(
    start: datetime | None, end: datetime | None, *, running: bool, now: datetime
) -> str:
    """``end - start`` from full-precision times, rounded down to whole seconds.

    A running job without an end is measured up to ``now``; a job that has not started, or
    that stopped without reporting an end, has no duration.
    """
    if start is None:
        return NOT_AVAILABLE
    if end is None:
        if not running:
            return NOT_AVAILABLE
        end = now
    return format_seconds((end - start) // _SECOND)


def format_size(size_bytes: int | None) -> str:
    """Bytes in 1024 steps with at most two decimals: ``512 MB``, ``2.25 TB``; zero is ``0 GB``."""
    if not size_bytes:
        return ZERO_SIZE
    value = Decimal(size_bytes)
    unit = 0
    while value >= 1024 and unit < len(_SIZE_UNITS) - 1:
        value /= 1024
        unit += 1
    rounded = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    if rounded >= 1024 and unit < len(_SIZE_UNITS) - 1:
        # 1023.999 KB rounds to 1024 KB: write it as 1 MB instead.
        rounded = (rounded / 1024).quantize(_CENT, rounding=ROUND_HALF_UP)
        unit += 1
    text = f"{rounded:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {_SIZE_UNITS[unit]}"


def format_count(count: int | None) -> str:
    return "0" if count is None else str(count)


def format_text(text: str | None) -> str:
    return text if text else NOT_AVAILABLE
