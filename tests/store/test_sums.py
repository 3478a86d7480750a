"""Sums that saturate at the largest BIGINT (store.sums), computed by each database: exact
below the cap, the cap above it, never an error."""

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, column, literal, select, union_all

from backupjobs.store.database import Database
from backupjobs.store.sums import MOST, SATURATED, capped, capped_sum, kept_plus

#: Kept sums (never negative) and the signed amounts they move by.
KEPT = st.integers(min_value=0, max_value=MOST)
BY = st.integers(min_value=-MOST, max_value=MOST)
#: Values a summed column holds: mostly near the cap, some small, some negative (netted).
SUMMED = st.lists(
    st.one_of(
        st.integers(min_value=MOST - 2**40, max_value=MOST),
        st.integers(min_value=0, max_value=2**62),
        st.integers(min_value=-(2**40), max_value=2**40),
    ),
    max_size=12,
)

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


async def _in_database(database_url, statements):
    db = Database(database_url)
    try:
        async with db.read() as connection:
            return [(await connection.execute(s)).scalar_one() for s in statements]
    finally:
        await db.dispose()


def _sum_of(numbers):
    rows = union_all(*(select(literal(n, BigInteger).label("x")) for n in numbers or [0])).subquery(
        "given"
    )
    return select(capped_sum(rows.c.x)).where(literal(bool(numbers)))


@HYPOTHESIS
@given(many=st.lists(SUMMED, min_size=1, max_size=4))
def test_capped_sum_is_the_sum_up_to_the_cap(database_url, many):
    found = asyncio.run(_in_database(database_url, [_sum_of(numbers) for numbers in many]))
    assert found == [min(MOST, sum(numbers)) if numbers else None for numbers in many]


@HYPOTHESIS
@given(moves=st.lists(st.tuples(KEPT, BY), min_size=1, max_size=8))
def test_a_kept_figure_moves_within_zero_and_the_cap(database_url, moves):
    statements = [
        select(kept_plus(name, literal(kept, BigInteger), literal(by, BigInteger)))
        for kept, by in moves
        for name in sorted(SATURATED)
    ]
    found = asyncio.run(_in_database(database_url, statements))
    expected = [max(0, min(MOST, kept + by)) for kept, by in moves for _ in SATURATED]
    assert found == expected


def test_counts_of_jobs_are_not_capped():
    assert str(kept_plus("jobs", column("kept"), column("by"))) == "kept + by"


def test_capped_keeps_a_python_sum_within_a_bigint():
    assert [capped(v) for v in (MOST + 1, -MOST - 5, 12, -12)] == [MOST, -MOST, 12, -12]
