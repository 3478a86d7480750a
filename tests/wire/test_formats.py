from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backupjobs.wire import format_duration, format_seconds, format_size, format_time

NOW = datetime(2025, 9, 11, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_times_are_utc_to_the_second_with_z():
    assert format_time(at("2025-09-11T03:21:16.8+00:00")) == "2025-09-11T03:21:16Z"
    assert format_time(at("2025-09-11T05:21:16+02:00")) == "2025-09-11T03:21:16Z"
    assert format_time(None) == "N/A"


def test_the_seed_duration_comes_from_sub_second_times():
    # The seed shows 03:21:16 -> 03:38:56 as 17m39s: the stored times had fractions.
    start, end = at("2025-09-11T03:21:16.8+00:00"), at("2025-09-11T03:38:56.2+00:00")
    assert format_time(start) == "2025-09-11T03:21:16Z"
    assert format_time(end) == "2025-09-11T03:38:56Z"
    assert format_duration(start, end, running=False, now=NOW) == "17m39s"


def test_whole_second_times_give_the_whole_difference():
    start, end = at("2025-09-11T03:21:16+00:00"), at("2025-09-11T03:38:56+00:00")
    assert format_duration(start, end, running=False, now=NOW) == "17m40s"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (60, "1m0s"),
        (1059, "17m39s"),
        (7205, "2h0m5s"),
        (86400, "1d0h0m0s"),
        (90061, "1d1h1m1s"),
    ],
)
def test_durations_leave_out_leading_zero_units(seconds, text):
    assert format_seconds(seconds) == text


def test_a_running_job_is_measured_to_now():
    start = NOW - timedelta(minutes=5, seconds=3, milliseconds=900)
    assert format_duration(start, None, running=True, now=NOW) == "5m3s"


def test_a_job_without_start_or_end_has_no_duration():
    assert format_duration(None, None, running=False, now=NOW) == "N/A"
    assert format_duration(None, NOW, running=False, now=NOW) == "N/A"
    assert format_duration(NOW, None, running=False, now=NOW) == "N/A"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 GB"),
        (None, "0 GB"),
        (1, "1 B"),
        (1023, "1023 B"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (512 * 1024**2, "512 MB"),
        (1536 * 1024**2, "1.5 GB"),
        (int(2.25 * 1024**4), "2.25 TB"),
        (1024**5, "1024 TB"),
        (1024**2 - 1, "1 MB"),
        (1234567, "1.18 MB"),
        (1152, "1.13 KB"),  # 1.125 exactly: halves round up
    ],
)
def test_sizes_use_1024_steps_and_at_most_two_decimals(size, text):
    assert format_size(size) == text


@given(st.integers(min_value=1, max_value=2**62))
def test_size_text_is_well_formed(size):
    number, unit = format_size(size).split(" ")
    assert unit in {"B", "KB", "MB", "GB", "TB"}
    assert not number.endswith(".") and not ("." in number and number.endswith("0"))
    assert len(number.partition(".")[2]) <= 2
    if unit != "TB":
        assert float(number) < 1024


@given(
    st.datetimes(timezones=st.just(UTC)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_duration_is_the_floor_of_the_exact_difference(start, length):
    text = format_duration(start, start + length, running=False, now=NOW)
    assert text == format_seconds(int(length.total_seconds() // 1))
