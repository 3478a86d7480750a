"""ISO 8601 durations for thresholds such as staleAfter."""

from datetime import timedelta

import pytest

from backupjobs.model.durations import format_iso_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT36H", timedelta(hours=36)),
        ("pt36h", timedelta(hours=36)),
        ("P2D", timedelta(days=2)),
        ("P1W", timedelta(weeks=1)),
        ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)),
        ("PT90M", timedelta(minutes=90)),
        ("PT0.5S", timedelta(seconds=0.5)),
        (" PT1H ", timedelta(hours=1)),
    ],
)
def test_durations_are_read(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "36h", "P1Y", "P1M", "PT-1H", "1 day", "PT1H30", "P1D1H"]
)
def test_what_is_not_a_duration_is_refused_naming_what_is(text):
    with pytest.raises(ValueError, match="ISO 8601 duration such as PT36H"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["PT0S", "P0D", "P99999D", "P999999999999999999999W"])
def test_zero_and_absurd_durations_are_refused(text):
    with pytest.raises(ValueError, match="more than zero"):
        parse_duration(text)


def test_durations_are_written_in_hours():
    assert format_iso_duration(timedelta(days=1, hours=12)) == "PT36H"
    assert format_iso_duration(timedelta(minutes=90, seconds=5)) == "PT1H30M5S"
    assert format_iso_duration(timedelta(0)) == "PT0S"
