"""Migration 0014_customer_blocks counts the blocks in from the days already kept."""

from uuid import uuid4

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, select

from backupjobs.store.migrations import alembic_config
from backupjobs.store.schema import customer_blocks, customer_days


def test_the_migration_adds_up_existing_days_per_customer_and_block_of_four_days(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'older.db'}")
    partner, one, other = uuid4(), uuid4(), uuid4()
    day = {"partner_id": partner, "jobs": 1, "backup_size_bytes": 10, "duration_seconds": 60}
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        before = ScriptDirectory.from_config(config).get_revision("0014_customer_blocks")
        command.upgrade(config, before.down_revision)
        connection.execute(
            customer_days.insert(),
            [
                {**day, "customer_id": one, "day": 20_000, "status": 2},
                {**day, "customer_id": one, "day": 20_003, "status": 2, "jobs": 2,
                 "backup_size_bytes": 5},
                {**day, "customer_id": one, "day": 20_003, "status": 3},
                {**day, "customer_id": one, "day": 20_004, "status": 2},
                {**day, "customer_id": other, "day": -1, "status": 2},
            ],
        )  # fmt: skip
        command.upgrade(config, "head")
        found = {
            (row.customer_id, row.block, row.status): (
                row.jobs,
                row.backup_size_bytes,
                row.duration_seconds,
            )
            for row in connection.execute(select(customer_blocks))
        }
    engine.dispose()
    assert found == {
        (one, 5_000, 2): (3, 15, 120),
        (one, 5_000, 3): (1, 10, 60),
        (one, 5_001, 2): (1, 10, 60),
        (other, -1, 2): (1, 10, 60),  # 1969-12-31 is in the block of 1969-12-28 to 31
    }
