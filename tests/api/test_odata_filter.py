"""``$filter`` of the history feed: parsed, refused with reasons, built into bound SQL."""

from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import DateTime, Integer, String, Uuid, column

from backupjobs.api.odata_filter import (
    DATETIME,
    GUID,
    INT,
    STRING,
    Comparison,
    FilterProperty,
    Junction,
    Literal,
    parse_filter,
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
