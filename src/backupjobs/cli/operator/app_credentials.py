"""``backupjobs apps add-secret|remove-secret|add-certificate|remove-certificate``: an
app's credentials, commands of the ``apps`` group."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from backupjobs.auth import apps as app_registry
from backupjobs.auth import certificates as certificate_registry
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
    reading,
    said,
    writing,
)
from backupjobs.cli.operator.apps import ClientIdOption, group, print_secret

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")


@group.command("add-secret")
def add_secret(
    client_id: ClientIdOption,
    years: Annotated[
        int, typer.Option("--years", min=1, max=3, help="Lifetime in years: 1, 2 or 3.")
    ] = 1,
    as_json: JsonFlag = False,
) -> None:
    """Add a client secret (shown only now); the app's other secrets stay valid."""

    secret = writing(
        lambda connection: app_registry.add_secret(connection, client_id, years=years, now=now())
    )
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
        print_secret(secret)


@group.command("remove-secret")
def remove_secret(
    client_id: ClientIdOption,
    secret_id: Annotated[str, typer.Option("--secret-id", help="The secret's id (apps show).")],
    yes: YesFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove a client secret: it stops working at once (asks unless --yes).

    Tokens issued with it live on until they expire.
    """
    _confirm_removal(
        client_id,
        yes,
        f"secret {secret_id}",
        lambda app: next((secret for secret in app.secrets if secret.id == secret_id), None),
        lambda app, found: (
            f"Remove secret {secret_id} of app {app.name!r} ({client_id}), expiring "
            f"{minute_text(found.expires_at)}, last used {minute_text(found.last_used_at)}?"
        ),
    )

    writing(lambda connection: app_registry.remove_secret(connection, client_id, secret_id))
    said(
        as_json,
        {"clientId": client_id, "secretId": secret_id, "removed": True},
        f"Removed secret {secret_id} of app {client_id}",
    )


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

    async def add(connection: AsyncConnection) -> None:
        app = await app_registry.require_app(connection, client_id)
        await certificate_registry.add_certificate(
            connection, app.partner_id, client_id, parsed, now=at
        )

    writing(add)
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
    yes: YesFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove a certificate: its assertions are refused at once (asks unless --yes).

    Tokens issued with it live on until they expire.
    """

    def find(app: app_registry.AppDetails) -> certificate_registry.RegisteredCertificate | None:
        wanted = certificate_registry.normalize_thumbprint(thumbprint)
        return next(
            (c for c in app.certificates if wanted in (c.thumbprint, c.thumbprint_sha256)), None
        )

    _confirm_removal(
        client_id,
        yes,
        f"certificate {thumbprint}",
        find,
        lambda app, match: (
            f"Remove certificate {match.thumbprint} ({match.subject}) of app {app.name!r} "
            f"({client_id})?"
        ),
    )

    async def remove(connection: AsyncConnection) -> None:
        app = await app_registry.require_app(connection, client_id)
        await certificate_registry.remove_certificate(
            connection, app.partner_id, client_id, thumbprint
        )

    writing(remove)
    wanted = certificate_registry.normalize_thumbprint(thumbprint)
    said(
        as_json,
        {"clientId": client_id, "thumbprint": wanted, "removed": True},
        f"Removed certificate {wanted} of app {client_id}",
    )


def _confirm_removal(
    client_id: str,
    yes: bool,
    what: str,
    find: Callable[[app_registry.AppDetails], T | None],
    question: Callable[[app_registry.AppDetails, T], str],
) -> None:
    """Unless ``--yes``: the app's credential that ``find`` picks, removed if the operator
    answers yes to ``question``; an app without it fails (``app ... has no {what}``)."""
    if yes:
        return
    app = reading(lambda connection: app_registry.describe_app(connection, client_id))
    found = find(app)
    if found is None:
        raise fail(f"app {client_id} has no {what}")
    confirm(question(app, found), yes)
