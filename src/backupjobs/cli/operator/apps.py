"""``backupjobs apps``: app registrations and their credentials."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from backupjobs.auth import apps as app_registry
from backupjobs.auth import certificates as certificate_registry
from backupjobs.auth.permissions import UnknownPermissionError, parse_permissions
from backupjobs.cli.common import (
    JsonFlag,
    console,
    emit_json,
    errors,
    fail,
    isoformat,
    minute_text,
    now,
    parse_uuid,
    with_database,
)
from backupjobs.store.database import Database

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

    async def work(database: Database) -> tuple[str, app_registry.IssuedSecret]:
        async with database.write() as connection:
            return await app_registry.register_app(
                connection,
                partner_id,
                name,
                permissions,
                customer_ids=scope,
                secret_years=secret_years,
                now=now(),
            )

    client_id, secret = with_database(work)
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
        _print_secret(secret)


def _print_secret(secret: app_registry.IssuedSecret) -> None:
    console.print(
        f"Client secret: {secret.value}  (shown once; expires {secret.expires_at:%Y-%m-%d})"
    )


@group.command("add-secret")
def add_secret(
    client_id: ClientIdOption,
    years: Annotated[
        int, typer.Option("--years", min=1, max=3, help="Lifetime in years: 1, 2 or 3.")
    ] = 1,
    as_json: JsonFlag = False,
) -> None:
    """Add a client secret (shown only now); the app's other secrets stay valid."""

    async def work(database: Database) -> app_registry.IssuedSecret:
        async with database.write() as connection:
            return await app_registry.add_secret(connection, client_id, years=years, now=now())

    secret = with_database(work)
    if as_json:
        emit_json(
            {
                "clientId": client_id,
                "secretId": secret.id,
                "clientSecret": secret.value,
                "expiresAt": isoformat(secret.expires_at),
            }
        )
    else:
        console.print(f"Secret id:     {secret.id}")
        _print_secret(secret)


@group.command("remove-secret")
def remove_secret(
    client_id: ClientIdOption,
    secret_id: Annotated[str, typer.Option("--secret-id", help="The secret's id (apps show).")],
    as_json: JsonFlag = False,
) -> None:
    """Remove a client secret: it stops working at once (tokens issued with it live on)."""

    async def work(database: Database) -> None:
        async with database.write() as connection:
            await app_registry.remove_secret(connection, client_id, secret_id)

    with_database(work)
    if as_json:
        emit_json({"clientId": client_id, "secretId": secret_id, "removed": True})
    else:
        console.print(f"Removed secret {secret_id} of app {client_id}")


@group.command("add-certificate")
def add_certificate(
    client_id: ClientIdOption,
    cert: Annotated[
        Path,
        typer.Option(
            "--cert",
            help="The certificate, PEM or DER (a private key in the file is ignored).",
            dir_okay=False,
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Register a certificate: the app may then sign in with its private key (RFC 7523)."""
    try:
        data = cert.read_bytes()
    except OSError as error:
        raise fail(f"cannot read {cert}: {error.strerror}", 2) from None
    try:
        parsed = certificate_registry.parse_certificate(data)
    except certificate_registry.CertificateError as error:
        raise fail(f"{cert}: {error}", 2) from None
    at = now()

    async def work(database: Database) -> None:
        async with database.write() as connection:
            app = await app_registry.require_app(connection, client_id)
            await certificate_registry.add_certificate(
                connection, app.partner_id, client_id, parsed, now=at
            )

    with_database(work)
    if parsed.had_private_key:
        errors.print(
            f"warning: {cert} also holds a private key; only the certificate was read. "
            "The private key should stay with the partner.",
            highlight=False,
        )
    if parsed.not_after <= at:
        errors.print(
            f"warning: the certificate expired at {minute_text(parsed.not_after)}; the token "
            "endpoint will refuse assertions signed with it.",
            highlight=False,
        )
    if as_json:
        emit_json(
            {
                "clientId": client_id,
                "thumbprint": parsed.thumbprint,
                "thumbprintSha256": parsed.thumbprint_sha256,
                "subject": parsed.subject,
                "keyType": parsed.key_type,
                "algorithms": list(parsed.algorithms),
                "notBefore": isoformat(parsed.not_before),
                "expiresAt": isoformat(parsed.not_after),
            }
        )
    else:
        console.print(f"Registered certificate {parsed.thumbprint} ({parsed.subject})")
        console.print(
            f"Key {parsed.key_type}, signs {', '.join(parsed.algorithms)}; "
            f"valid until {minute_text(parsed.not_after)}"
        )


@group.command("remove-certificate")
def remove_certificate(
    client_id: ClientIdOption,
    thumbprint: Annotated[
        str, typer.Option("--thumbprint", help="SHA-1 or SHA-256 thumbprint (hex).")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Remove a certificate: assertions signed with its key are refused at once."""

    async def work(database: Database) -> None:
        async with database.write() as connection:
            app = await app_registry.require_app(connection, client_id)
            await certificate_registry.remove_certificate(
                connection, app.partner_id, client_id, thumbprint
            )

    with_database(work)
    wanted = certificate_registry.normalize_thumbprint(thumbprint)
    if as_json:
        emit_json({"clientId": client_id, "thumbprint": wanted, "removed": True})
    else:
        console.print(f"Removed certificate {wanted} of app {client_id}")


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

    async def work(database: Database) -> list[app_registry.AppDetails]:
        async with database.read() as connection:
            return await app_registry.describe_apps(connection, partner_id=partner_id)

    found = with_database(work)
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

    async def work(database: Database) -> app_registry.AppDetails:
        async with database.read() as connection:
            return await app_registry.describe_app(connection, client_id)

    found = with_database(work)
    if as_json:
        emit_json(_app_json(found, now()))
    else:
        _print_app(found, now())
