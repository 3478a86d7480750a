"""OData query options and next links, without a server."""

import pytest

from backupjobs.api.odata import (
    CSDL,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    CollectionOptions,
    collection_options,
    next_link,
)
from backupjobs.api.problems import ProblemError
from backupjobs.api.requests import MAX_OFFSET

BASE = "https://backup.example.com"


def test_defaults():
    options = collection_options([("source", "script")])
    assert options == CollectionOptions(top=None, skip=0, count=False)
    assert options.page_size == DEFAULT_PAGE_SIZE


@pytest.mark.parametrize("digits", [19, 5000])
def test_a_huge_skip_is_past_the_end_and_a_huge_top_is_refused(digits):
    huge = "9" * digits
    assert collection_options([("$skip", huge)]).offset == MAX_OFFSET
    with pytest.raises(
        ProblemError, match=rf"\$top: '9+' is not a whole number from 0 to {MAX_PAGE_SIZE}"
    ):
        collection_options([("$top", huge)])


def test_leading_zeros_are_a_number():
    assert collection_options([("$top", "0007"), ("$skip", "000")]) == CollectionOptions(7, 0)


@pytest.mark.parametrize("value", ["\u0663", "\uff11", " 1", "1 ", "0x10", "1e3", "½"])
def test_only_ascii_digits_are_numbers(value):
    with pytest.raises(ProblemError, match=r"\$top"):
        collection_options([("$top", value)])


def test_next_link_keeps_the_other_options_and_moves_skip():
    query = [("$top", "2"), ("$skip", "2"), ("$count", "true"), ("who", "a b&c")]
    options = collection_options(query)
    link = next_link(BASE, "/partner/customers", query, options, returned=2, total=7)
    assert link == f"{BASE}/partner/customers?$top=2&$count=true&who=a%20b%26c&$skip=4"


def test_next_link_path_is_encoded_as_a_client_would():
    link = next_link(
        BASE, "/partner/customers/x/jobs/jobType/Microsoft 365", [], CollectionOptions(),
        returned=1, total=2,
    )  # fmt: skip
    assert link == f"{BASE}/partner/customers/x/jobs/jobType/Microsoft%20365?$skip=1"
    keyed = next_link(BASE, "/partner/customers('x')/jobs", [], CollectionOptions(),
                      returned=1, total=2)  # fmt: skip
    assert keyed == f"{BASE}/partner/customers('x')/jobs?$skip=1"


@pytest.mark.parametrize(
    ("skip", "returned", "total"),
    [(0, 2, 2), (5, 0, 3), (0, 0, 5), (3, 2, 5)],
)
def test_no_next_link_at_the_end_or_on_an_empty_page(skip, returned, total):
    options = CollectionOptions(top=2, skip=skip)
    assert next_link(BASE, "/p", [], options, returned=returned, total=total) is None


def test_metadata_is_utf8_xml_with_a_declaration():
    assert CSDL.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert b'Version="4.0"' in CSDL
