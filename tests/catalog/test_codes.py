import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backupjobs.catalog import (
    JOB_MODULES,
    JOB_TYPES,
    NOT_FINISHED,
    STATUSES,
    AmbiguousCodeError,
    UnknownCodeError,
)

# The v3 jobs API document, as received (the contract's source).
SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_08c226e510f1a017.txt"


def _seed_codes(field: str) -> dict[int, str]:
    """Codes and names listed for ``field`` in the v3 seed's response table."""
    text = SEED.read_text()
    row = next(
        line for line in text.splitlines() if line.startswith(f"| {field} ") and "<li>" in line
    )
    return {int(code): name.strip() for code, name in re.findall(r"\*\*(\d+)\*\* - ([^<]+)", row)}


@pytest.mark.parametrize(
    ("field", "table"), [("jobType", JOB_TYPES), ("jobModule", JOB_MODULES), ("status", STATUSES)]
)
def test_every_seed_code_is_in_the_catalog_with_its_seed_name(field, table):
    codes = _seed_codes(field)
    assert codes, "the seed table was not found"
    for code, name in codes.items():
        assert table.require(code).name == name


def test_later_vendor_modules_are_known():
    assert JOB_MODULES.require(367).name == "Azure VMware Solution"
    assert JOB_MODULES.require(371).name == "Azure PostgreSQL"


@pytest.mark.parametrize(
    ("code", "display"),
    [
        (4, "Finished with exception"),
        (7, "Failed to start"),
        (11, "Not scanned"),
        (13, "Not started"),
        (14, "Waiting for configuration"),
        (3, "Failed"),
    ],
)
def test_status_display_names_are_readable(code, display):
    assert STATUSES.require(code).display == display


def test_not_finished_is_the_modern_status_of_a_service_without_jobs():
    assert NOT_FINISHED == "Not Finished"
    assert all(entry.display != NOT_FINISHED for entry in STATUSES)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Microsoft 365", 7),
        ("microsoft 365", 7),
        ("MICROSOFT%20365", 7),
        ("Microsoft+365", None),
        ("7", 7),
        (" 12 ", 12),
        ("iaas paas", 12),
    ],
)
def test_job_types_parse_by_name_in_any_case_or_code(text, code):
    if code is None:
        with pytest.raises(UnknownCodeError):
            JOB_TYPES.parse(text)
    else:
        assert JOB_TYPES.parse(text).code == code


def test_statuses_parse_by_seed_or_display_name():
    assert STATUSES.parse("FinishedWithException").code == 4
    assert STATUSES.parse("finished with exception").code == 4
    assert STATUSES.parse("failed to start").code == 7


def test_a_name_two_codes_share_is_ambiguous_naming_both():
    with pytest.raises(AmbiguousCodeError, match="codes 8 and 309") as raised:
        JOB_MODULES.parse("archiver")
    assert raised.value.codes == (8, 309)
    assert isinstance(raised.value, UnknownCodeError)  # every caller's 400 covers it
    assert JOB_MODULES.find("Archiver") is None
    assert JOB_MODULES.parse("8").name == JOB_MODULES.parse(309).name == "Archiver"


def test_no_other_name_is_shared():
    for table in (JOB_TYPES, JOB_MODULES, STATUSES):
        for entry in table:
            if entry.display != "Archiver":
                assert table.parse(entry.display) == entry


def test_unknown_values_name_the_field_and_value():
    with pytest.raises(UnknownCodeError, match="unknown jobModule 'Floppy Disks'"):
        JOB_MODULES.parse("Floppy Disks")
    with pytest.raises(UnknownCodeError, match="unknown status 99"):
        STATUSES.require(99)


@given(st.sampled_from([entry for entry in JOB_MODULES if entry.name != "Archiver"]))
def test_every_module_round_trips_through_its_display_name_and_code(entry):
    assert JOB_MODULES.parse(entry.display).name == entry.name
    assert JOB_MODULES.parse(str(entry.code)) == entry


def test_a_code_or_a_name_is_found_or_none_by_the_same_rules_as_parse():
    assert JOB_TYPES.find(7) == JOB_TYPES.find("7") == JOB_TYPES.find("microsoft%20365")
    assert JOB_TYPES.parse(7) == JOB_TYPES.require(7)
    assert JOB_MODULES.find(" share point online ") is None
    assert JOB_MODULES.find("Floppy Disks") is None
    assert JOB_MODULES.find(999) is None
    assert JOB_MODULES.find("-1") is None
    with pytest.raises(UnknownCodeError, match="unknown jobModule 999"):
        JOB_MODULES.parse(999)
    with pytest.raises(UnknownCodeError, match="unknown jobModule 999"):
        JOB_MODULES.parse(" 999 ")


def test_a_digit_that_is_no_decimal_is_an_unknown_name_not_a_crash():
    with pytest.raises(UnknownCodeError, match="unknown jobType '²'"):
        JOB_TYPES.parse("%C2%B2")
    assert JOB_TYPES.find("²") is None
