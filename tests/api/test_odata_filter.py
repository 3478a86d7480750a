"""``$filter`` of the history feed: parsed, refused with reasons, built into bound SQL, and
tested on rows already read (the report sets' computed rows)."""

from datetime import UTC, date, datetime
from uuid import UUID

import pytest
from sqlalchemy import DateTime, Integer, String, Uuid, column

from backupjobs.api.odata_filter import (
    DATE,
    DATETIME,
    GUID,
    INT,
    STRING,
    Comparison,
    FilterProperty,
    Junction,
    Literal,
    ValueProperty,
    bounds,
    conjuncts,
    parse_filter,
    to_predicate,
    to_sql,
)
from backupjobs.api.problems import ProblemError

PROPERTIES = {
    "status": FilterProperty(column("status", Integer()), INT),
    "name": FilterProperty(column("name", String()), STRING, nullable=True),
    "startTime": FilterProperty(column("start_time", DateTime(timezone=True)), DATETIME),
    "customerId": FilterProperty(column("customer_id", Uuid()), GUID),
}


def sql(text):
    condition = to_sql(parse_filter(text), PROPERTIES)
    return str(condition.compile(compile_kwargs={"literal_binds": True}))


def test_incremental_refresh_window():
    node = parse_filter(
        "startTime ge 2026-01-01T00:00:00Z and startTime lt 2026-02-01T00:00:00.1234567+01:00"
    )
    assert node == Junction(
        "and",
        Comparison("startTime", "ge", Literal("datetime", datetime(2026, 1, 1, tzinfo=UTC),
                                              "2026-01-01T00:00:00Z")),
        Comparison("startTime", "lt", Literal(
            "datetime", datetime(2026, 1, 31, 23, 0, 0, 123456, tzinfo=UTC),
            "2026-02-01T00:00:00.1234567+01:00")),
    )  # fmt: skip


def test_and_binds_tighter_than_or_and_parentheses_group():
    assert sql("status eq 3 or status eq 5 and name eq 'x'") == (
        "status = 3 OR status = 5 AND name = 'x'"
    )
    assert sql("(status eq 3 or status eq 5) and name eq 'x'") == (
        "(status = 3 OR status = 5) AND name = 'x'"
    )


def test_every_comparison_and_null():
    for operator, symbol in (("eq", "="), ("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        assert sql(f"status {operator} 4") == f"status {symbol} 4"
    assert sql("name ne 'a'") == "name != 'a' OR name IS NULL"  # null ne 'a' is true in OData
    assert sql("name eq null") == "name IS NULL"
    assert sql("name ne null") == "name IS NOT NULL"
    assert sql("name eq 'it''s'") == "name = 'it''s'"


def test_values_are_bound_parameters_never_sql_text():
    condition = to_sql(parse_filter("name eq 'x'' or 1 eq 1 --'"), PROPERTIES)
    compiled = condition.compile()
    assert str(compiled) == "name = :param_1"
    assert compiled.params == {"param_1": "x' or 1 eq 1 --"}
    guid = to_sql(parse_filter("customerId eq 3fa85f64-5717-4562-b3fc-2c963f66afa6"), PROPERTIES)
    assert guid.compile().params["param_1"] == UUID("3fa85f64-5717-4562-b3fc-2c963f66afa6")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "it is empty"),
        ("status", "it ends where"),
        ("status eq", "it ends where"),
        ("status equals 3", "an operator (eq, ne, gt, ge, lt, le) expected at 7"),
        ("status eq 3 and", "it ends where"),
        ("(status eq 3", "it ends where"),
        ("status eq 3)", "unexpected ')' at 11"),
        ("3 eq status", "a property name expected at 0"),
        ("status eq 'x' 'y'", "unexpected"),
        ("status eq 3 xor status eq 4", "unexpected 'xor' at 12"),
        ("unknown eq 3", "'unknown' is not a filterable property; filterable: status, name"),
        ("status eq 'three'", "status is Edm.Int32 or Edm.Int64; 'three' is not a value"),
        ("startTime ge 2026-13-01", "'2026-13-01' at 13 is not a valid date-time"),
        ("status gt null", "null compares with eq or ne only"),
        ("status eq §", "a value expected at 10"),
        ("(" * 40 + "status eq 1" + ")" * 40, "parentheses nest deeper than 32"),
    ],
)
def test_what_is_not_valid_is_400_saying_what_and_where(text, said):
    with pytest.raises(ProblemError) as raised:
        to_sql(parse_filter(text), PROPERTIES)
    assert (raised.value.status, raised.value.target) == (400, "$filter")
    assert said in raised.value.detail


@pytest.mark.parametrize(
    "text",
    ["contains(name,'x')", "not (status eq 3)", "status in (1,2)", "status add 1 eq 3",
     "startTime ge datetimeoffset'2026-01-01T00:00:00Z'"],
)  # fmt: skip
def test_what_odata_has_and_this_does_not_is_501(text):
    with pytest.raises(ProblemError) as raised:
        to_sql(parse_filter(text), PROPERTIES)
    assert raised.value.status == 501
    assert "not implemented" in raised.value.detail


# --- over rows already read (the report sets' rows, computed rather than stored) ----------

ROW_PROPERTIES = {
    "customerName": ValueProperty(STRING),
    "jobStatusName": ValueProperty(STRING, convert=str.title),
    "services": ValueProperty(INT),
    "lastSuccessTime": ValueProperty(DATETIME, nullable=True),
    "date": ValueProperty(DATE),
    "customerId": ValueProperty(GUID),
}
FIRST = UUID("00000000-0000-0000-0000-000000000001")
SECOND = UUID("00000000-0000-0000-0000-000000000002")
ROWS = {
    "acme": {
        "customerName": "Acme",
        "jobStatusName": "Failed",
        "services": 3,
        "lastSuccessTime": datetime(2026, 11, 30, 22, 0, tzinfo=UTC),
        "date": date(2026, 11, 30),
        "customerId": FIRST,
    },
    "bolt": {
        "customerName": "Bolt",
        "jobStatusName": "Finished",
        "services": 0,
        "lastSuccessTime": None,
        "date": date(2026, 12, 1),
        "customerId": SECOND,
    },
}


def matching(text: str) -> list[str]:
    test = to_predicate(parse_filter(text), ROW_PROPERTIES)
    return [name for name, row in ROWS.items() if test(row)]


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("customerName eq 'Acme'", ["acme"]),
        ("customerName eq 'acme'", []),  # case matters, as in SQL on PostgreSQL
        ("customerName ne 'Acme'", ["bolt"]),
        ("customerName lt 'B'", ["acme"]),
        ("customerName ge 'Bolt'", ["bolt"]),
        ("jobStatusName eq 'failed'", ["acme"]),  # the property's convert reads the literal
    ],
)
def test_strings_compare_as_written(text, matches):
    assert matching(text) == matches


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("services eq 3", ["acme"]),
        ("services ne 3", ["bolt"]),
        ("services lt 3", ["bolt"]),
        ("services le 3", ["acme", "bolt"]),
        ("services ge 1", ["acme"]),
        ("services gt 3", []),
    ],
)
def test_numbers_compare_as_numbers(text, matches):
    assert matching(text) == matches


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("date eq 2026-11-30", ["acme"]),
        ("date ne 2026-11-30", ["bolt"]),
        ("date lt 2026-12-01", ["acme"]),
        ("date ge 2026-12-01", ["bolt"]),
        ("lastSuccessTime ge 2026-11-30T23:00:00+01:00", ["acme"]),  # 22:00 UTC
        ("lastSuccessTime lt 2026-11-30T22:00:00Z", []),
    ],
)
def test_dates_and_times_compare_as_instants(text, matches):
    assert matching(text) == matches


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("lastSuccessTime eq null", ["bolt"]),
        ("lastSuccessTime ne null", ["acme"]),
        # As in SQL: ne holds for a null value, every other comparison with null is false.
        ("lastSuccessTime ne 2026-11-30T22:00:00Z", ["bolt"]),
        ("lastSuccessTime lt 2030-01-01T00:00:00Z", ["acme"]),
    ],
)
def test_null_equals_only_null(text, matches):
    assert matching(text) == matches


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("services ge 1 and customerName eq 'Acme'", ["acme"]),
        ("services ge 1 and customerName eq 'Bolt'", []),
        ("services ge 1 or customerName eq 'Bolt'", ["acme", "bolt"]),
        ("customerName eq 'Bolt' or services eq 3 and date eq 2026-12-01", ["bolt"]),
        ("(customerName eq 'Bolt' or services eq 3) and date eq 2026-12-01", ["bolt"]),
        (f"customerId eq {FIRST} or customerId eq {SECOND}", ["acme", "bolt"]),
    ],
)
def test_and_binds_tighter_than_or_over_rows(text, matches):
    assert matching(text) == matches


@pytest.mark.parametrize(
    ("text", "status", "said"),
    [
        ("not (services eq 3)", 501, "'not' at 0 is not implemented"),
        ("services eq 'three'", 400, "services is Edm.Int32 or Edm.Int64; 'three' is not"),
        ("date eq 2026-11-30T00:00:00Z", 400, "date is Edm.Date"),
        ("customerName eq 7", 400, "customerName is Edm.String"),
        ("lastSuccessTime lt null", 400, "null compares with eq or ne only"),
        ("jobs eq 1", 400, "'jobs' is not a filterable property"),
    ],
)
def test_a_filter_the_rows_cannot_be_tested_by_is_refused(text, status, said):
    with pytest.raises(ProblemError) as refused:
        to_predicate(parse_filter(text), ROW_PROPERTIES)
    assert refused.value.status == status
    assert said in refused.value.detail
    assert refused.value.target == "$filter"


def test_the_conjuncts_are_the_comparisons_under_and_alone():
    node = parse_filter(
        "date ge 2026-11-01 and (services eq 1 or services eq 2) and date lt 2026-12-01"
    )
    assert [(c.property, c.operator) for c in conjuncts(node)] == [
        ("date", "ge"),
        ("date", "lt"),
    ]
    assert conjuncts(parse_filter("date ge 2026-11-01 or services eq 1")) == []


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("date ge 2026-11-01 and date lt 2026-12-01", date(2026, 11, 1), date(2026, 12, 1)),
        ("date gt 2026-11-01 and date le 2026-12-01", date(2026, 11, 2), date(2026, 12, 2)),
        ("date eq 2026-11-05", date(2026, 11, 5), date(2026, 11, 6)),
        ("date ge 2026-11-01 and date ge 2026-11-10", date(2026, 11, 10), None),
        ("date ge 2026-11-01 or date lt 2026-12-01", None, None),  # no bound under or
        ("services eq 1", None, None),
    ],
)
def test_bounds_are_the_days_every_match_lies_in(text, low, high):
    assert bounds(parse_filter(text), "date", ROW_PROPERTIES)[:2] == (low, high)


def test_bounds_name_the_customers_every_match_is_one_of():
    def equal(text: str) -> frozenset[UUID] | None:
        return bounds(parse_filter(text), "customerId", ROW_PROPERTIES)[2]

    assert equal(f"customerId eq {FIRST} and date ge 2026-11-01") == {FIRST}
    assert equal(f"customerId eq {FIRST} and customerId eq {SECOND}") == frozenset()
    assert equal(f"customerId eq {FIRST} or customerId eq {SECOND}") is None
    assert equal("date ge 2026-11-01") is None
