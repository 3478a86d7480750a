"""An unknown name is told the closest valid names and where every name is listed."""

import subprocess
import sys
from pathlib import Path

import pytest

from backupjobs.auth.permissions import UnknownPermissionError, parse_permissions
from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES, UnknownCodeError
from backupjobs.catalog.reference import reference
from backupjobs.catalog.suggestions import CODES_REFERENCE, close_names, did_you_mean

ROOT = Path(__file__).resolve().parents[2]


def test_a_misspelled_module_names_the_closest_one_and_the_full_list():
    with pytest.raises(UnknownCodeError) as raised:
        JOB_MODULES.parse("Sharepoint")
    assert str(raised.value) == (
        "unknown jobModule 'Sharepoint': did you mean \"SharePoint Online\"? "
        "(all names: docs/codes.md)"
    )


@pytest.mark.parametrize(
    ("table", "typed", "meant"),
    [
        (JOB_MODULES, "share point online", ["SharePoint Online"]),
        (JOB_MODULES, "teams", ["Microsoft Teams"]),
        (JOB_MODULES, "Gmail?", ["Gmail"]),
        (JOB_TYPES, "Microsoft 366", ["Microsoft 365", "Microsoft 365 Scan"]),
        # A status is suggested by its display name, whichever of its names was close.
        (STATUSES, "FinishedWithExeption", ["Finished with exception"]),
        (STATUSES, "error", ["Failed to start"]),
    ],
)
def test_suggestions_are_close_in_any_case_and_shown_by_display_name(table, typed, meant):
    assert close_names(typed, table.names()) == meant


def test_nothing_close_still_says_where_the_names_are():
    with pytest.raises(UnknownCodeError) as raised:
        JOB_MODULES.parse("Floppy Disks")
    assert str(raised.value) == "unknown jobModule 'Floppy Disks' (all names: docs/codes.md)"
    assert did_you_mean("m365", JOB_TYPES.names()) == ""


def test_an_unknown_number_is_only_named():
    with pytest.raises(UnknownCodeError) as raised:
        JOB_MODULES.parse(999)
    assert str(raised.value) == "unknown jobModule 999"


def test_three_suggestions_at_most_joined_with_or():
    said = did_you_mean("exchange", JOB_MODULES.names())
    assert said == (
        ': did you mean "Exchange Online", "Exchange Online Backup and Restore" or '
        '"Exchange Online Public Folders"?'
    )


def test_a_misspelled_permission_names_the_permission_meant():
    with pytest.raises(UnknownPermissionError) as raised:
        parse_permissions(["elements.job.read.all"])
    assert str(raised.value).startswith(
        "unknown permission 'elements.job.read.all': did you mean \"elements.jobs.read.all\""
    )


def test_the_committed_codes_reference_is_what_the_catalog_writes():
    assert CODES_REFERENCE == "docs/codes.md"
    assert (ROOT / CODES_REFERENCE).read_text() == reference()
    printed = subprocess.run(
        [sys.executable, "-m", "backupjobs.catalog.reference"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == reference()
    for table in (JOB_TYPES, JOB_MODULES, STATUSES):
        for entry in table:
            assert f"| {entry.code} | {entry.name} |" in printed
