"""``backupjobs users``: the people of a partner who sign in to the dashboard."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from backupjobs.auth import users
from backupjobs.auth.users import IssuedPassword, User
from backupjobs.cli.common import (
    JsonFlag,
    console,
    emit_json,
    listed_plainly,
    minute_text,
    now,
    parse_uuid,
    reading,
    said,
    writing,
)

group = typer.Typer(help="Dashboard users of a partner.", no_args_is_help=True)

Partner = Annotated[str, typer.Option("--partner", help="The partner's id.")]
Email = Annotated[str, typer.Option("--email", help="The user's email address.")]


def _issued(issued: IssuedPassword, as_json: bool, what: str) -> None:
    user = issued.user
    if as_json:
        emit_json(
            {
                "id": str(user.id),
                "email": user.email,
                "role": user.role.value,
                "password": issued.password,
            }
        )
        return
    console.print(f"{what} {user.email} ({user.role.value}, partner {user.partner_id})")
    console.print(
        f"One-time password (shown once; changed at the first sign-in): {issued.password}"
    )


@group.command("create")
def create(
    partner: Partner,
    email: Email,
    role: Annotated[
        str, typer.Option("--role", help="viewer (sees every customer) or admin (also webhooks).")
    ] = "viewer",
    as_json: JsonFlag = False,
) -> None:
    """Create a dashboard user with a one-time password, printed once."""
    partner_id = parse_uuid(partner, "--partner")

    issued = writing(
        lambda connection: users.create_user(
            connection, partner_id, email, users.parse_role(role), now=now()
        )
    )
    _issued(issued, as_json, "Created dashboard user")


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "role": user.role.value,
        "disabled": user.disabled_at is not None,
        "mustChangePassword": user.must_change_password,
        "createdAt": user.created_at.isoformat(),
    }


@group.command("list")
def list_users(partner: Partner, as_json: JsonFlag = False) -> None:
    """The partner's dashboard users."""
    partner_id = parse_uuid(partner, "--partner")

    found = reading(lambda connection: users.list_users(connection, partner_id))
    if listed_plainly(found, as_json, "users", _user_json, "No dashboard users."):
        return
    table = Table("email", "role", "state", "created", box=None)
    for user in found:
        state = (
            "disabled"
            if user.disabled_at
            else "must change password"
            if (user.must_change_password)
            else "active"
        )
        table.add_row(Text(user.email), user.role.value, state, minute_text(user.created_at))
    console.print(table)


@group.command("disable")
def disable(partner: Partner, email: Email, as_json: JsonFlag = False) -> None:
    """Disable a user: it cannot sign in, and its sessions end now."""
    partner_id = parse_uuid(partner, "--partner")

    user = writing(lambda connection: users.disable_user(connection, partner_id, email, now=now()))
    said(
        as_json,
        {"id": str(user.id), "email": user.email, "disabled": True},
        f"Disabled dashboard user {user.email}; its sessions are ended.",
    )


@group.command("reset-password")
def reset_password(partner: Partner, email: Email, as_json: JsonFlag = False) -> None:
    """A new one-time password (printed once); the user's sessions end, and a disabled
    user is enabled again."""
    partner_id = parse_uuid(partner, "--partner")

    issued = writing(lambda connection: users.reset_password(connection, partner_id, email))
    _issued(issued, as_json, "New password for")
