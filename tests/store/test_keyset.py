"""Keyset paging: whole lists paged without a gap or a duplicate, in any order of keys."""

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from backupjobs.store.keyset import SortKey, keyset_select, position_of, split_page
from backupjobs.store.schema import UtcDateTime

BASE = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
async def probe(db):
    """A table of its own, with many ties on its first keys; dropped afterwards."""
    table = Table(
        f"keyset_probe_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("at", UtcDateTime, nullable=False),
        Column("rank", Integer, nullable=False),
        Column("name", String(20), nullable=False),
    )
    rng = random.Random(7)
    rows = [
        {
            # Sub-second times, and many equal ones: the later keys must break ties.
            "at": BASE
            + timedelta(seconds=rng.randrange(20), microseconds=rng.choice([0, 800_000])),
            "rank": rng.randrange(3),
            "name": f"job-{index:04d}",
        }
        for index in range(157)
    ]
    async with db.write() as connection:
        await connection.run_sync(table.create)
        await connection.execute(table.insert(), rows)
    yield table, rows
    async with db.write() as connection:
        await connection.run_sync(table.drop)


def _order(table, descending):
    return [
        SortKey(table.c.at, "at", descending=descending[0]),
        SortKey(table.c.rank, "rank", descending=descending[1]),
        SortKey(table.c.name, "name", descending=descending[2]),
    ]


@pytest.mark.parametrize(
    "descending",
    [(True, True, True), (False, False, False), (True, False, True), (False, True, False)],
)
@pytest.mark.parametrize("limit", [1, 10, 156, 157, 1000])
async def test_pages_cover_the_list_once_in_order(db, probe, descending, limit):
    table, rows = probe
    order = _order(table, descending)

    def key(row):
        # Python's order for the same keys: invert what is descending.
        at = row["at"].timestamp()
        return (
            -at if descending[0] else at,
            -row["rank"] if descending[1] else row["rank"],
            [-ord(c) for c in row["name"]] if descending[2] else row["name"],
        )

    expected = [row["name"] for row in sorted(rows, key=key)]
    seen, position, pages = [], None, 0
    while True:
        async with db.read() as connection:
            statement = keyset_select(select(table), order, position, limit=limit)
            result = (await connection.execute(statement)).all()
        page, more = split_page(result, limit)
        seen += [row.name for row in page]
        pages += 1
        if not more:
            break
        position = position_of(page[-1], order)
    assert seen == expected
    assert pages == -(-len(rows) // limit)  # no empty last page


async def test_a_position_of_the_wrong_length_is_an_error(db, probe):
    table, _ = probe
    with pytest.raises(ValueError, match="3 values"):
        keyset_select(select(table), _order(table, (True, True, True)), [BASE], limit=5)
