"""OData query options, next links, keys, content negotiation and $metadata, without a server."""

import xml.etree.ElementTree as ET

import pytest
from litestar.exceptions import NotFoundException

from backupjobs.api.odata import (
    CSDL,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    XML,
    CollectionOptions,
    collection_options,
    customer_key,
    job_key,
    negotiate,
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
def test_a_huge_skip_is_past_the_end_and_a_huge_top_is_every_row(digits):
    huge = "9" * digits
    assert collection_options([("$skip", huge)]).offset == MAX_OFFSET
    assert collection_options([("$top", huge)]).page_size == DEFAULT_PAGE_SIZE


def test_the_page_is_the_smaller_of_top_and_the_page_size():
    assert collection_options([("$top", "7")], max_page_size=3).page_size == 3
    assert collection_options([("$top", "2")], max_page_size=3).page_size == 2
    assert collection_options([], max_page_size=MAX_PAGE_SIZE).page_size == MAX_PAGE_SIZE


def test_leading_zeros_are_a_number():
    assert collection_options([("$top", "0007"), ("$skip", "000")]) == CollectionOptions(7, 0)


@pytest.mark.parametrize("value", ["\u0663", "\uff11", " 1", "1 ", "0x10", "1e3", "½"])
def test_only_ascii_digits_are_numbers(value):
    with pytest.raises(ProblemError, match=r"\$top"):
        collection_options([("$top", value)])


def test_next_link_keeps_the_other_options_moves_skip_and_lowers_top():
    query = [("$top", "5"), ("$skip", "2"), ("$count", "true"), ("who", "a b&c")]
    options = collection_options(query, max_page_size=2)
    link = next_link(BASE, "/partner/customers", query, options, returned=2, total=7)
    assert link == f"{BASE}/partner/customers?$count=true&who=a%20b%26c&$top=3&$skip=4"


def test_no_next_link_once_top_rows_are_given():
    options = collection_options([("$top", "2")], max_page_size=2)
    assert next_link(BASE, "/p", [("$top", "2")], options, returned=2, total=9) is None


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


# --- keys --------------------------------------------------------------------------------

GUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


@pytest.mark.parametrize(
    "segment",
    [f"Customers({GUID})", f"customers('{GUID}')", f"Customers(customerId={GUID})",
     f"CUSTOMERS(customerId='{GUID.upper()}')"],
)  # fmt: skip
def test_customer_keys_in_every_spelling(segment):
    assert customer_key(segment) == GUID


@pytest.mark.parametrize("key", ["notaguid", "", "'x'", "customerId=1", "1,2", f"id={GUID}"])
def test_a_malformed_customer_key_is_400_naming_the_key(key):
    with pytest.raises(ProblemError, match="the key is customerId, a GUID") as raised:
        customer_key(f"Customers({key})")
    assert (raised.value.status, raised.value.target) == (400, "customerId")


@pytest.mark.parametrize("segment", ["Orders(1)", "Customers(1)(2)", "Customersx"])
def test_other_segments_are_no_route(segment):
    with pytest.raises(NotFoundException):
        customer_key(segment)


@pytest.mark.parametrize(
    ("segment", "key"),
    [
        ("jobs(jobType='Microsoft 365',jobModule='SharePoint Online')",
         ("Microsoft 365", "SharePoint Online")),
        ("jobs(jobModule='Gmail', jobType='Google Workspace')", ("Google Workspace", "Gmail")),
        ("JOBS(JOBTYPE='It''s',jobmodule='x')", ("It's", "x")),
    ],
)  # fmt: skip
def test_job_keys_name_both_properties_in_any_order(segment, key):
    assert job_key(segment) == key


@pytest.mark.parametrize(
    "key",
    ["", "jobType='a'", "'a','b'", "jobType='a',jobType='b'", "jobType=a,jobModule=b",
     "jobType='a',jobModule='b',x='c'", "jobType='a';jobModule='b'", "jobType='a,jobModule='b'"],
)  # fmt: skip
def test_a_malformed_job_key_is_400(key):
    with pytest.raises(ProblemError, match="the key is jobType and jobModule") as raised:
        job_key(f"jobs({key})")
    assert raised.value.status == 400


# --- content negotiation -----------------------------------------------------------------


def _headers(**fields):
    return [
        (name.replace("_", "-").lower().encode(), value.encode()) for name, value in fields.items()
    ]


@pytest.mark.parametrize(
    ("fields", "format_option", "level"),
    [
        ({}, None, "minimal"),
        ({"Accept": "*/*"}, None, "minimal"),
        ({"Accept": "application/json;odata.metadata=full"}, None, "full"),
        ({"Accept": "application/json;odata.metadata=none;odata.streaming=true"}, None, "none"),
        ({"Accept": "application/atom+xml;q=0.9, application/json;metadata=none"}, None, "none"),
        ({"Accept": "text/html, application/*;q=0.1"}, None, "minimal"),
        ({"Accept": "application/atom+xml"}, "json", "minimal"),  # $format overrides Accept
        ({}, "application/json;odata.metadata=full", "full"),
        ({"OData-MaxVersion": "4.01"}, None, "minimal"),
    ],
)
def test_negotiated_metadata_levels(fields, format_option, level):
    assert negotiate(_headers(**fields), format_option).metadata == level


@pytest.mark.parametrize(
    ("fields", "format_option", "status", "named"),
    [
        ({"Accept": "application/atom+xml"}, None, 406, "Accept asks for application/atom+xml"),
        ({"Accept": "application/json;odata.metadata=most"}, None, 406, "odata.metadata=most"),
        ({"Accept": "application/json;q=0"}, None, 406, "served as application/json"),
        ({}, "atom", 406, "$format asks for atom"),
        ({}, "xml", 406, "$format asks for application/xml"),
        ({"OData-MaxVersion": "3.0"}, None, 406, "above OData-MaxVersion 3.0"),
        ({"OData-MaxVersion": "four"}, None, 400, "Invalid OData-MaxVersion 'four'"),
        ({"OData-Isolation": "snapshot"}, None, 412, "OData-Isolation: snapshot"),
        ({"Isolation": "snapshot"}, None, 412, "OData-Isolation: snapshot"),
    ],
)
def test_what_cannot_be_served_is_refused_naming_why(fields, format_option, status, named):
    with pytest.raises(ProblemError) as raised:
        negotiate(_headers(**fields), format_option)
    assert raised.value.status == status
    assert named in raised.value.detail


def test_metadata_documents_negotiate_xml():
    assert negotiate(_headers(Accept="application/xml"), None, serves=XML).metadata == "minimal"
    with pytest.raises(ProblemError, match="served as application/xml"):
        negotiate(_headers(Accept="application/json"), None, serves=XML)


@pytest.mark.parametrize(
    ("prefer", "size"),
    [("odata.maxpagesize=5", 5), ("return=minimal, odata.maxpagesize=7", 7),
     ("maxpagesize=9", 9), ('odata.maxpagesize="3"', 3), ("odata.maxpagesize=0", None),
     ("odata.maxpagesize=-1", None), ("odata.maxpagesize=5000", MAX_PAGE_SIZE),
     ("respond-async", None)],
)  # fmt: skip
def test_prefer_maxpagesize(prefer, size):
    negotiated = negotiate(_headers(Prefer=prefer), None)
    assert negotiated.max_page_size == size
    assert negotiated.headers() == (
        {"Preference-Applied": f"odata.maxpagesize={size}"} if size else {}
    )


# --- $metadata ---------------------------------------------------------------------------

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def _annotations(target):
    root = ET.fromstring(CSDL)
    [block] = [a for a in root.iter(f"{EDM}Annotations") if a.get("Target") == target]
    return block


def test_metadata_declares_the_capabilities_in_annotations_blocks():
    container = _annotations("Portal.Api.Model.Container")
    terms = {a.get("Term"): a.get("Bool") for a in container.findall(f"{EDM}Annotation")}
    assert terms["Capabilities.BatchSupported"] == "false"
    customers = _annotations("Portal.Api.Model.Container/Customers")
    records = {}
    for annotation in customers.findall(f"{EDM}Annotation"):
        values = {p.get("Property"): p.get("Bool") for p in annotation.iter(f"{EDM}PropertyValue")}
        records[annotation.get("Term").removeprefix("Capabilities.")] = values
    assert records["InsertRestrictions"] == {"Insertable": "false"}
    assert records["UpdateRestrictions"] == {"Updatable": "false"}
    assert records["DeleteRestrictions"] == {"Deletable": "false"}
    assert records["CountRestrictions"] == {"Countable": "true"}
    [navigation] = [
        a for a in customers.findall(f"{EDM}Annotation")
        if a.get("Term") == "Capabilities.NavigationRestrictions"
    ]  # fmt: skip
    [restricted] = navigation.iter(f"{EDM}Collection")
    [record] = restricted.findall(f"{EDM}Record")
    fields = {p.get("Property"): p for p in record.findall(f"{EDM}PropertyValue")}
    assert fields["NavigationProperty"].get("NavigationPropertyPath") == "jobs"
    for term, name in (("InsertRestrictions", "Insertable"), ("UpdateRestrictions", "Updatable"),
                       ("DeleteRestrictions", "Deletable")):  # fmt: skip
        [value] = fields[term].findall(f"{EDM}Record/{EDM}PropertyValue")
        assert (value.get("Property"), value.get("Bool")) == (name, "false")
    # Nothing inline on the entity set: converters read the Annotations blocks.
    [entity_set] = ET.fromstring(CSDL).iter(f"{EDM}EntitySet")
    assert list(entity_set) == []
