"""``backupjobs apps``: app registrations (their credentials: :mod:`.app_credentials`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from backupjobs.auth import apps as app_registry
from backupjobs.auth.permissions import UnknownPermissionError, parse_permissions
from backupjobs.cli.common import (
    JsonFlag,
    YesFlag,
    confirm,
    console,
    emit_json,
    errors,
    fail,
    isoformat,
    minute_text,
    now,
    parse_uuid,
    plural,
    reading,
    writing,
)

group = typer.Typer(help="App registrations and their credentials.", no_args_is_help=True)
ClientIdOption = Annotated[str, typer.Option("--client-id", help="The app's client id.")]


@group.command("create")
def create(
    partner: Annotated[str, typer.Option("--partner", help="The partner's id.")],
    name: Annotated[str, typer.Option("--name", help="The app's name.")],
    permission: Annotated[
        list[str], typer.Option("--permission", help="A permission to grant (repeatable).")
    ],
    customer: Annotated[
        list[str] | None,
        typer.Option("--customer", help="Limit the app to this customer (repeatable)."),
    ] = None,
    secret_years: Annotated[
        int, typer.Option("--secret-years", min=1, max=3, help="Secret lifetime: 1, 2 or 3.")
    ] = 1,
    as_json: JsonFlag = False,
) -> None:
    """Register an app; prints its client id and its secret, which is shown only now."""
    partner_id = parse_uuid(partner, "--partner")
    try:
        permissions = parse_permissions(permission)
    except UnknownPermissionError as error:
        raise fail(str(error), 2) from None
    scope = [parse_uuid(c, "--customer") for c in customer] if customer else None

    client_id, secret = writing(
        lambda connection: app_registry.register_app(
            connection,
            partner_id,
            name,
            permissions,
            customer_ids=scope,
            secret_years=secret_years,
            now=now(),
        )
    )
    if as_json:
        emit_json(
            {
                "clientId": client_id,
                "clientSecret": secret.value,
                "secretId": secret.id,
                "secretExpiresAt": secret.expires_at.isoformat(),
                "permissions": sorted(permissions),
                "customers": None if scope is None else [str(c) for c in scope],
            }
        )
    else:
        console.print(f"Client id:     {client_id}")
        print_secret(secret)


def print_secret(secret: app_registry.IssuedSecret) -> None:
    console.print(
        f"Client secret: {secret.value}  (shown once; expires {secret.expires_at:%Y-%m-%d})"
    )


def _app_json(app: app_registry.AppDetails, at: datetime) -> dict[str, Any]:
    return {
        "clientId": app.client_id,
        "partnerId": str(app.partner_id),
        "name": app.name,
        "permissions": list(app.permissions),
        "customers": None if app.customer_ids is None else [str(c) for c in app.customer_ids],
        "createdAt": isoformat(app.created_at),
        "secrets": [
            {
                "id": secret.id,
                "createdAt": isoformat(secret.created_at),
                "expiresAt": isoformat(secret.expires_at),
                "lastUsedAt": isoformat(secret.last_used_at),
                "expired": secret.expires_at <= at,
            }
            for secret in app.secrets
        ],
        "certificates": [
            {
                "thumbprint": certificate.thumbprint,
                "thumbprintSha256": certificate.thumbprint_sha256,
                "subject": certificate.subject,
                "keyType": certificate.key_type,
                "notBefore": isoformat(certificate.not_before),
                "expiresAt": isoformat(certificate.not_after),
                "createdAt": isoformat(certificate.created_at),
                "lastUsedAt": isoformat(certificate.last_used_at),
                "expired": certificate.not_after <= at,
            }
            for certificate in app.certificates
        ],
    }


def _print_app(app: app_registry.AppDetails, at: datetime) -> None:
    scope = "all customers" if app.customer_ids is None else f"{len(app.customer_ids)} customers"
    console.print(f"[bold]{app.name}[/bold]  {app.client_id}  (partner {app.partner_id}, {scope})")
    console.print(f"  permissions  {' '.join(app.permissions)}", highlight=False)
    for secret in app.secrets:
        state = " (expired)" if secret.expires_at <= at else ""
        console.print(
            f"  secret       {secret.id}  expires {minute_text(secret.expires_at)}{state}, "
            f"last used {minute_text(secret.last_used_at)}",
            highlight=False,
        )
    for certificate in app.certificates:
        state = " (expired)" if certificate.not_after <= at else ""
        console.print(
            f"  certificate  {certificate.thumbprint}  {certificate.key_type}, "
            f"{certificate.subject}, expires {minute_text(certificate.not_after)}{state}, "
            f"last used {minute_text(certificate.last_used_at)}",
            highlight=False,
            markup=False,
        )
    if not app.secrets and not app.certificates:
        console.print("  no credentials")


@group.command("list")
def list_apps(
    partner: Annotated[
        str | None, typer.Option("--partner", help="Only this partner's apps.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """App registrations and their credentials (ids, expiry, last use; never a secret)."""
    partner_id = parse_uuid(partner, "--partner") if partner else None

    found = reading(
        lambda connection: app_registry.describe_apps(connection, partner_id=partner_id)
    )
    at = now()
    if as_json:
        emit_json({"apps": [_app_json(app, at) for app in found]})
        return
    for app in found:
        _print_app(app, at)
    if not found:
        console.print("No apps.")


@group.command("show")
def show(client_id: ClientIdOption, as_json: JsonFlag = False) -> None:
    """One app registration and its credentials (never a secret)."""

    found = reading(lambda connection: app_registry.describe_app(connection, client_id))
    if as_json:
        emit_json(_app_json(found, now()))
    else:
        _print_app(found, now())


_TOKENS_NOTE = (
    "Permissions are written into the access tokens the app gets: a change applies to the "
    "tokens it gets from now on, and those it holds keep theirs until they expire "
    "(BACKUPJOBS_TOKEN_LIFETIME, an hour by default). A customer scope applies to the "
    "app's next request, whatever token it holds."
)


@group.command("update", epilog=_TOKENS_NOTE)
def update(
    client_id: ClientIdOption,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    permission: Annotated[
        list[str] | None,
        typer.Option(
            "--permission",
            help="The permissions the app is granted from now on (repeatable; replaces them all).",
        ),
    ] = None,
    customer: Annotated[
        list[str] | None,
        typer.Option(
            "--customer",
            help="The customers the app is limited to from now on (repeatable; replaces them).",
        ),
    ] = None,
    all_customers: Annotated[
        bool,
        typer.Option("--all-customers", help="The app sees every customer of its partner."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Change an app's name, permissions or customer scope; what is not given stays."""
    permissions = None
    if permission:
        try:
            permissions = parse_permissions(permission)
        except UnknownPermissionError as error:
            raise fail(str(error), 2) from None
    scope = [parse_uuid(c, "--customer") for c in customer] if customer else None
    if scope is not None and all_customers:
        raise fail("--customer and --all-customers: give one of them", 2)
    if name is None and permissions is None and scope is None and not all_customers:
        raise fail("nothing to change: give --name, --permission, --customer or --all-customers", 2)

    before, after = writing(
        lambda connection: app_registry.update_app(
            connection,
            client_id,
            name=name,
            permissions=permissions,
            customer_ids=scope,
            all_customers=all_customers,
        )
    )
    changed = [
        field
        for field, old, new in (
            ("name", before.name, after.name),
            ("permissions", before.permissions, after.permissions),
            ("customers", before.customer_ids, after.customer_ids),
        )
        if old != new
    ]
    at = now()
    if as_json:
        emit_json({**_app_json(after, at), "changed": changed})
        return
    console.print(
        f"Updated app {client_id}: {', '.join(changed) if changed else 'nothing changed'}",
        markup=False,
    )
    _print_app(after, at)
    if "permissions" in changed:
        errors.print(
            "note: tokens the app holds keep their permissions until they expire",
            highlight=False,
        )


def _removal_text(removal: app_registry.AppRemoval) -> str:
    return (
        f"app {removal.app.name!r} ({removal.app.client_id}) with "
        f"{plural(removal.secrets, 'secret')}, {plural(removal.certificates, 'certificate')} "
        "and "
        + plural(removal.customer_scope_entries, "customer scope entry", "customer scope entries")
    )


@group.command("delete")
def delete(client_id: ClientIdOption, yes: YesFlag = False, as_json: JsonFlag = False) -> None:
    """Delete an app with its secrets, certificates and customer scope (asks unless --yes).

    It can no longer sign in, and tokens it holds see no customer from their next request.
    """

    if not yes:
        preview = reading(lambda connection: app_registry.app_removal(connection, client_id))
        confirm(f"Remove {_removal_text(preview)}?", yes)

    removal = writing(lambda connection: app_registry.delete_app(connection, client_id))
    if as_json:
        emit_json(
            {
                "clientId": removal.app.client_id,
                "partnerId": str(removal.app.partner_id),
                "name": removal.app.name,
                "removed": {
                    "apps": 1,
                    "secrets": removal.secrets,
                    "certificates": removal.certificates,
                    "customerScopeEntries": removal.customer_scope_entries,
                },
            }
        )
    else:
        console.print(f"Removed {_removal_text(removal)}", markup=False, highlight=False)
