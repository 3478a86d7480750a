"""``backupjobs keys``: the keys that sign access tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from backupjobs.auth.keys import KeyInfo, Rotation, list_keys, rotate_keys
from backupjobs.cli.common import (
    JsonFlag,
    console,
    emit_json,
    isoformat,
    minute_text,
    now,
    settings,
    with_database,
)
from backupjobs.store.database import Database

group = typer.Typer(help="The keys that sign access tokens.", no_args_is_help=True)


def _key_json(key: KeyInfo, at: datetime) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "algorithm": key.algorithm,
        "state": key.state(at),
        "createdAt": isoformat(key.created_at),
        "signsFrom": isoformat(key.signs_from),
        "retiredAt": isoformat(key.retired_at),
        "verifiesUntil": isoformat(key.verifies_until),
    }


@group.command("rotate")
def rotate(
    grace: Annotated[
        int,
        typer.Option(
            "--grace",
            min=0,
            help="Seconds between publishing the new key and signing with it, for whoever "
            "caches the JWKS.",
        ),
    ] = 300,
    as_json: JsonFlag = False,
) -> None:
    """Rotate the signing key without downtime or breaking issued tokens.

    The new key is published in the JWKS at once and signs after the grace period.

    The old key then stops signing, and verifies until the last token it signed expires.
    """
    lifetime = settings().token_lifetime
    at = now()

    async def work(database: Database) -> Rotation:
        return await rotate_keys(
            database, now=at, grace=timedelta(seconds=grace), token_lifetime=lifetime
        )

    rotation = with_database(work)
    if as_json:
        emit_json(
            {
                "kid": rotation.new.kid,
                "signsFrom": isoformat(rotation.new.signs_from),
                "retiring": [_key_json(key, at) for key in rotation.retiring],
                "purged": list(rotation.purged),
            }
        )
        return
    console.print(
        f"New key {rotation.new.kid}: published now, signs from "
        f"{minute_text(rotation.new.signs_from)}"
    )
    for key in rotation.retiring:
        console.print(
            f"Key {key.kid}: stops signing then, verifies until {minute_text(key.verifies_until)}"
        )


@group.command("list")
def list_signing_keys(as_json: JsonFlag = False) -> None:
    """The signing keys, newest first, with their state (never a private key)."""
    found = with_database(list_keys)
    at = now()
    if as_json:
        emit_json({"keys": [_key_json(key, at) for key in found]})
        return
    table = Table("kid", "state", "signs from", "retired", "verifies until", box=None)
    for key in found:
        table.add_row(
            key.kid,
            key.state(at),
            minute_text(key.signs_from),
            minute_text(key.retired_at) if key.retired_at else "-",
            minute_text(key.verifies_until) if key.verifies_until else "-",
        )
    console.print(table)
