"""Operator commands: partners, customers, services, app registrations, keys, the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from backupjobs.auth import apps as app_registry
from backupjobs.auth import certificates as certificate_registry
from backupjobs.auth.keys import KeyInfo, Rotation, list_keys, rotate_keys
from backupjobs.auth.permissions import UnknownPermissionError, parse_permissions
from backupjobs.catalog import JOB_MODULES, JOB_TYPES
from backupjobs.cli.common import (
    console,
    emit_json,
    errors,
    fail,
    parse_code,
    parse_uuid,
    settings,
    with_database,
)
from backupjobs.store import directory
from backupjobs.store.database import Database

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]

partners = typer.Typer(help="Partners (MSPs).", no_args_is_help=True)
customers = typer.Typer(help="A partner's customers (tenants).", no_args_is_help=True)
services = typer.Typer(help="Backup services of a customer.", no_args_is_help=True)
apps = typer.Typer(help="App registrations and their credentials.", no_args_is_help=True)
keys = typer.Typer(help="The keys that sign access tokens.", no_args_is_help=True)
db = typer.Typer(help="The database.", no_args_is_help=True)
ClientIdOption = Annotated[str, typer.Option("--client-id", help="The app's client id.")]


def _now() -> datetime:
    return datetime.now(UTC)


@partners.command("create")
def create_partner(
    name: Annotated[str, typer.Option("--name", help="The partner's name.")],
    as_json: JsonFlag = False,
) -> None:
    """Create a partner."""

    async def work(database: Database) -> str:
        async with database.write() as connection:
            return str(await directory.create_partner(connection, name, now=_now()))

    partner_id = with_database(work)
    if as_json:
        emit_json({"id": partner_id, "name": name.strip()})
    else:
        console.print(f"Created partner [bold]{name.strip()}[/bold]: {partner_id}")


@customers.command("create")
def create_customer(
    partner: Annotated[str, typer.Option("--partner", help="The partner's id.")],
    name: Annotated[str, typer.Option("--name", help="The customer's name.")],
    customer_id: Annotated[
        str | None, typer.Option("--id", help="The tenant owner id (default: a new UUID).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a customer of a partner."""
    partner_id = parse_uuid(partner, "--partner")
    wanted = parse_uuid(customer_id, "--id") if customer_id else None

    async def work(database: Database) -> str:
        async with database.write() as connection:
            created = await directory.create_customer(
                connection, partner_id, name, customer_id=wanted, now=_now()
            )
        return str(created)

    created_id = with_database(work)
    if as_json:
        emit_json({"id": created_id, "partnerId": str(partner_id), "name": name.strip()})
    else:
        console.print(f"Created customer [bold]{name.strip()}[/bold]: {created_id}")


@services.command("enable")
def enable_service(
    customer: Annotated[str, typer.Option("--customer", help="The customer's id.")],
    job_type: Annotated[str, typer.Option("--job-type", help="Code or name, e.g. 7.")],
    job_module: Annotated[str, typer.Option("--job-module", help="Code or name, e.g. 302.")],
    as_json: JsonFlag = False,
) -> None:
    """Enable a backup service for a customer (it shows as a placeholder row until it runs)."""
    customer_id = parse_uuid(customer, "--customer")
    type_code = parse_code(JOB_TYPES, job_type)
    module_code = parse_code(JOB_MODULES, job_module)

    async def work(database: Database) -> bool:
        async with database.write() as connection:
            return await directory.enable_service(
                connection, customer_id, type_code, module_code, now=_now()
            )

    created = with_database(work)
    if as_json:
        emit_json(
            {
                "customerId": str(customer_id),
                "jobType": type_code,
                "jobModule": module_code,
                "created": created,
            }
        )
    else:
        state = "Enabled" if created else "Already enabled:"
        console.print(
            f"{state} {JOB_TYPES.require(type_code).display} / "
            f"{JOB_MODULES.require(module_code).display} for customer {customer_id}"
        )


@apps.command("create")
def create_app(
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
            return await app_registry.create_app(
                connection,
                partner_id,
                name,
                permissions,
                customer_ids=scope,
                secret_years=secret_years,
                now=_now(),
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
        console.print(
            f"Client secret: {secret.value}  (shown once; expires {secret.expires_at:%Y-%m-%d})"
        )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _day(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M}Z"


@apps.command("add-secret")
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
            return await app_registry.add_secret(connection, client_id, years=years, now=_now())

    secret = with_database(work)
    if as_json:
        emit_json(
            {
                "clientId": client_id,
                "secretId": secret.id,
                "clientSecret": secret.value,
                "expiresAt": _iso(secret.expires_at),
            }
        )
    else:
        console.print(f"Secret id:     {secret.id}")
        console.print(
            f"Client secret: {secret.value}  (shown once; expires {secret.expires_at:%Y-%m-%d})"
        )


@apps.command("remove-secret")
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


@apps.command("add-certificate")
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
    now = _now()

    async def work(database: Database) -> None:
        async with database.write() as connection:
            app = await app_registry.require_app(connection, client_id)
            await certificate_registry.add_certificate(
                connection, app.partner_id, client_id, parsed, now=now
            )

    with_database(work)
    if parsed.had_private_key:
        errors.print(
            f"warning: {cert} also holds a private key; only the certificate was read. "
            "The private key should stay with the partner.",
            highlight=False,
        )
    if parsed.not_after <= now:
        errors.print(
            f"warning: the certificate expired at {_day(parsed.not_after)}; the token "
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
                "notBefore": _iso(parsed.not_before),
                "expiresAt": _iso(parsed.not_after),
            }
        )
    else:
        console.print(f"Registered certificate {parsed.thumbprint} ({parsed.subject})")
        console.print(
            f"Key {parsed.key_type}, signs {', '.join(parsed.algorithms)}; "
            f"valid until {_day(parsed.not_after)}"
        )


@apps.command("remove-certificate")
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


def _app_json(app: app_registry.AppDetails, now: datetime) -> dict[str, Any]:
    return {
        "clientId": app.client_id,
        "partnerId": str(app.partner_id),
        "name": app.name,
        "permissions": list(app.permissions),
        "customers": None if app.customer_ids is None else [str(c) for c in app.customer_ids],
        "createdAt": _iso(app.created_at),
        "secrets": [
            {
                "id": secret.id,
                "createdAt": _iso(secret.created_at),
                "expiresAt": _iso(secret.expires_at),
                "lastUsedAt": _iso(secret.last_used_at),
                "expired": secret.expires_at <= now,
            }
            for secret in app.secrets
        ],
        "certificates": [
            {
                "thumbprint": certificate.thumbprint,
                "thumbprintSha256": certificate.thumbprint_sha256,
                "subject": certificate.subject,
                "keyType": certificate.key_type,
                "notBefore": _iso(certificate.not_before),
                "expiresAt": _iso(certificate.not_after),
                "createdAt": _iso(certificate.created_at),
                "lastUsedAt": _iso(certificate.last_used_at),
                "expired": certificate.not_after <= now,
            }
            for certificate in app.certificates
        ],
    }


def _print_app(app: app_registry.AppDetails, now: datetime) -> None:
    scope = "all customers" if app.customer_ids is None else f"{len(app.customer_ids)} customers"
    console.print(f"[bold]{app.name}[/bold]  {app.client_id}  (partner {app.partner_id}, {scope})")
    console.print(f"  permissions  {' '.join(app.permissions)}", highlight=False)
    for secret in app.secrets:
        state = " (expired)" if secret.expires_at <= now else ""
        console.print(
            f"  secret       {secret.id}  expires {_day(secret.expires_at)}{state}, "
            f"last used {_day(secret.last_used_at)}",
            highlight=False,
        )
    for certificate in app.certificates:
        state = " (expired)" if certificate.not_after <= now else ""
        console.print(
            f"  certificate  {certificate.thumbprint}  {certificate.key_type}, "
            f"{certificate.subject}, expires {_day(certificate.not_after)}{state}, "
            f"last used {_day(certificate.last_used_at)}",
            highlight=False,
            markup=False,
        )
    if not app.secrets and not app.certificates:
        console.print("  no credentials")


@apps.command("list")
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
    now = _now()
    if as_json:
        emit_json({"apps": [_app_json(app, now) for app in found]})
        return
    for app in found:
        _print_app(app, now)
    if not found:
        console.print("No apps.")


@apps.command("show")
def show_app(client_id: ClientIdOption, as_json: JsonFlag = False) -> None:
    """One app registration and its credentials (never a secret)."""

    async def work(database: Database) -> app_registry.AppDetails:
        async with database.read() as connection:
            return await app_registry.describe_app(connection, client_id)

    found = with_database(work)
    if as_json:
        emit_json(_app_json(found, _now()))
    else:
        _print_app(found, _now())


def _key_json(key: KeyInfo, now: datetime) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "algorithm": key.algorithm,
        "state": key.state(now),
        "createdAt": _iso(key.created_at),
        "signsFrom": _iso(key.signs_from),
        "retiredAt": _iso(key.retired_at),
        "verifiesUntil": _iso(key.verifies_until),
    }


@keys.command("rotate")
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
    now = _now()

    async def work(database: Database) -> Rotation:
        return await rotate_keys(
            database, now=now, grace=timedelta(seconds=grace), token_lifetime=lifetime
        )

    rotation = with_database(work)
    if as_json:
        emit_json(
            {
                "kid": rotation.new.kid,
                "signsFrom": _iso(rotation.new.signs_from),
                "retiring": [_key_json(key, now) for key in rotation.retiring],
                "purged": list(rotation.purged),
            }
        )
        return
    console.print(
        f"New key {rotation.new.kid}: published now, signs from {_day(rotation.new.signs_from)}"
    )
    for key in rotation.retiring:
        console.print(
            f"Key {key.kid}: stops signing then, verifies until {_day(key.verifies_until)}"
        )


@keys.command("list")
def list_signing_keys(as_json: JsonFlag = False) -> None:
    """The signing keys, newest first, with their state (never a private key)."""
    found = with_database(list_keys)
    now = _now()
    if as_json:
        emit_json({"keys": [_key_json(key, now) for key in found]})
        return
    table = Table("kid", "state", "signs from", "retired", "verifies until", box=None)
    for key in found:
        table.add_row(
            key.kid,
            key.state(now),
            _day(key.signs_from),
            _day(key.retired_at) if key.retired_at else "-",
            _day(key.verifies_until) if key.verifies_until else "-",
        )
    console.print(table)


@db.command("upgrade")
def upgrade() -> None:
    """Create the schema, or upgrade it to this version's."""

    async def work(database: Database) -> str:
        return database.describe()

    console.print(f"Database is up to date: {with_database(work)}")
