"""Starting the demo again: the same data, one working secret."""

import sys
from pathlib import Path

import pytest

from backupjobs.auth.apps import ClientAuthenticationError, authenticate_with_secret, secrets_of
from backupjobs.cli.common import program
from backupjobs.cli.demo import print_walkthrough, seed_demo
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from tests.world import now


async def test_a_second_run_shows_the_same_customer_and_revokes_the_earlier_secret(
    tmp_path, capsys
):
    config = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    first = await seed_demo(config, days=1, now=now())
    print_walkthrough(config, first)
    assert "Starting the demo again keeps its data and replaces this secret" in (
        capsys.readouterr().out
    )
    second = await seed_demo(config, days=1, now=now())
    third = await seed_demo(config, days=1, now=now())
    assert (second.customer_id, second.customer_name) == (first.customer_id, "Northwind Traders")
    assert (third.customer_id, third.client_id) == (first.customer_id, first.client_id)
    assert (first.rerun, second.rerun, third.revoked) == (False, True, 1)
    print_walkthrough(config, third)
    said = capsys.readouterr().out
    assert "The demo was made before: the same partner, customers and jobs." in said
    assert "its earlier secret is revoked" in said

    db = Database(config.database_url)
    try:
        async with db.write() as connection:
            assert len(await secrets_of(connection, first.client_id)) == 1
            for revoked in (first.client_secret, second.client_secret):
                with pytest.raises(ClientAuthenticationError):
                    await authenticate_with_secret(connection, first.client_id, revoked, now=now())
            await authenticate_with_secret(
                connection, first.client_id, third.client_secret, now=now()
            )
    finally:
        await db.dispose()


def test_printed_commands_name_this_program_as_it_can_be_run(tmp_path, monkeypatch):
    script = tmp_path / ".venv" / "bin" / "backupjobs"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert program(".venv/bin/backupjobs") == ".venv/bin/backupjobs"  # as typed
    assert program(str(script)) == ".venv/bin/backupjobs"  # from this folder
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert program(str(script)) == str(script)
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")  # the venv activated
    assert program(str(script)) == "backupjobs"
    main = Path(sys.modules["backupjobs"].__file__).with_name("__main__.py")
    assert program(str(main)) == f"{sys.executable} -m backupjobs"
