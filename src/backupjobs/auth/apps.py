"""App registrations: permissions, customer scope and client secrets.

Operator functions take an :class:`AsyncConnection` and run in the caller's transaction.
A change of an app's customer scope shows on its next request (every read checks the
scope; the change feed tells the other API processes). Its permissions are in the access
tokens it holds: a change shows in the tokens it gets next.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.auth.certificates import RegisteredCertificate, certificates_of
from backupjobs.auth.secrets import generate_secret, hash_secret, new_id, secret_matches
from backupjobs.store.directory import NotFoundError, require_partner
from backupjobs.store.schema import (
    app_certificates,
    app_customers,
    app_secrets,
    apps,
    assertion_jtis,
    customers,
)

SECRET_YEARS = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class App:
    """What a token request needs to know about an app registration."""

    client_id: str
    partner_id: UUID
    name: str
    permissions: frozenset[str]


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A new client secret: ``value`` is shown once and never stored."""

    id: str
    value: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """A client secret as operators see it: never its value, which is not stored."""

    id: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class AppDetails:
    """An app registration and its credentials, for operators."""

    client_id: str
    partner_id: UUID
    name: str
    permissions: tuple[str, ...]
    #: None: every customer of the partner.
    customer_ids: tuple[UUID, ...] | None
    created_at: datetime
    secrets: tuple[SecretInfo, ...]
    certificates: tuple[RegisteredCertificate, ...]


class ClientAuthenticationError(Exception):
    """The client could not be authenticated; ``str()`` says why and may be shown to it."""


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February into a year without one
        return moment.replace(year=moment.year + years, day=28)


async def register_app(
    connection: AsyncConnection,
    partner_id: UUID,
    name: str,
    permissions: frozenset[str],
    *,
    customer_ids: Sequence[UUID] | None,
    secret_years: int,
    now: datetime,
) -> tuple[str, IssuedSecret]:
    """Register an app with its first secret; ``customer_ids`` None means all customers."""
    await require_partner(connection, partner_id)
    if not permissions:
        raise ValueError("an app needs at least one permission")
    if not name.strip():
        raise ValueError("a name must not be blank")
    client_id = str(uuid.uuid4())
    await connection.execute(
        apps.insert().values(
            partner_id=partner_id,
            client_id=client_id,
            name=name.strip(),
            permissions=" ".join(sorted(permissions)),
            all_customers=customer_ids is None,
            created_at=now,
        )
    )
    if customer_ids is not None:
        await _scope_to(connection, partner_id, client_id, customer_ids)
    secret = await add_secret(connection, client_id, years=secret_years, now=now)
    return client_id, secret


async def _scope_to(
    connection: AsyncConnection, partner_id: UUID, client_id: str, customer_ids: Sequence[UUID]
) -> None:
    """Limit the app to ``customer_ids``, which must be its partner's."""
    wanted = set(customer_ids)
    owned = set(
        (
            await connection.scalars(
                select(customers.c.id).where(
                    customers.c.partner_id == partner_id, customers.c.id.in_(wanted)
                )
            )
        ).all()
    )
    if missing := wanted - owned:
        raise NotFoundError("partner has no customer " + ", ".join(str(c) for c in sorted(missing)))
    if wanted:
        await connection.execute(
            app_customers.insert(),
            [
                {"partner_id": partner_id, "customer_id": customer, "client_id": client_id}
                for customer in sorted(wanted)
            ],
        )


async def get_app(connection: AsyncConnection, client_id: str) -> App | None:
    row = (
        await connection.execute(
            select(apps.c.client_id, apps.c.partner_id, apps.c.name, apps.c.permissions).where(
                apps.c.client_id == client_id
            )
        )
    ).first()
    if row is None:
        return None
    return App(row.client_id, row.partner_id, row.name, frozenset(row.permissions.split()))


async def require_app(connection: AsyncConnection, client_id: str) -> App:
    app = await get_app(connection, client_id)
    if app is None:
        raise NotFoundError(f"no app with client id {client_id}")
    return app


async def add_secret(
    connection: AsyncConnection, client_id: str, *, years: int, now: datetime
) -> IssuedSecret:
    if years not in SECRET_YEARS:
        raise ValueError("a secret expires after 1, 2 or 3 years")
    app = await require_app(connection, client_id)
    secret = IssuedSecret(new_id(), generate_secret(), add_years(now, years))
    await connection.execute(
        app_secrets.insert().values(
            partner_id=app.partner_id,
            client_id=client_id,
            id=secret.id,
            secret_hash=hash_secret(secret.value),
            created_at=now,
            expires_at=secret.expires_at,
        )
    )
    return secret


async def remove_secret(connection: AsyncConnection, client_id: str, secret_id: str) -> None:
    app = await require_app(connection, client_id)
    removed = await connection.execute(
        delete(app_secrets).where(
            app_secrets.c.partner_id == app.partner_id,
            app_secrets.c.client_id == client_id,
            app_secrets.c.id == secret_id,
        )
    )
    if not removed.rowcount:
        raise NotFoundError(f"app {client_id} has no secret {secret_id}")


async def secrets_of(connection: AsyncConnection, client_id: str) -> list[SecretInfo]:
    """The app's secrets, oldest first: what they are, never their value."""
    rows = await connection.execute(
        select(
            app_secrets.c.id,
            app_secrets.c.created_at,
            app_secrets.c.expires_at,
            app_secrets.c.last_used_at,
        )
        .where(app_secrets.c.client_id == client_id)
        .order_by(app_secrets.c.created_at, app_secrets.c.id)
    )
    return [SecretInfo(**row._mapping) for row in rows]


async def describe_apps(
    connection: AsyncConnection, *, partner_id: UUID | None = None, client_id: str | None = None
) -> list[AppDetails]:
    """App registrations with their credentials, by partner then name."""
    query = select(apps).order_by(apps.c.partner_id, apps.c.name, apps.c.client_id)
    if partner_id is not None:
        query = query.where(apps.c.partner_id == partner_id)
    if client_id is not None:
        query = query.where(apps.c.client_id == client_id)
    found = []
    for row in (await connection.execute(query)).all():
        scope = None
        if not row.all_customers:
            scope = tuple(
                (
                    await connection.scalars(
                        select(app_customers.c.customer_id)
                        .where(
                            app_customers.c.partner_id == row.partner_id,
                            app_customers.c.client_id == row.client_id,
                        )
                        .order_by(app_customers.c.customer_id)
                    )
                ).all()
            )
        found.append(
            AppDetails(
                client_id=row.client_id,
                partner_id=row.partner_id,
                name=row.name,
                permissions=tuple(sorted(row.permissions.split())),
                customer_ids=scope,
                created_at=row.created_at,
                secrets=tuple(await secrets_of(connection, row.client_id)),
                certificates=tuple(await certificates_of(connection, row.client_id)),
            )
        )
    return found


async def describe_app(connection: AsyncConnection, client_id: str) -> AppDetails:
    found = await describe_apps(connection, client_id=client_id)
    if not found:
        raise NotFoundError(f"no app with client id {client_id}")
    return found[0]


async def update_app(
    connection: AsyncConnection,
    client_id: str,
    *,
    name: str | None = None,
    permissions: frozenset[str] | None = None,
    customer_ids: Sequence[UUID] | None = None,
    all_customers: bool = False,
) -> tuple[AppDetails, AppDetails]:
    """Change an app's name, permissions (replaced whole) or customer scope (replaced by
    ``customer_ids``, or by every customer of its partner with ``all_customers``); None
    leaves one as it is. Returns the app before and after."""
    if customer_ids is not None and all_customers:
        raise ValueError("give customers, or every customer, not both")
    if customer_ids is not None and not customer_ids:
        raise ValueError("give at least one customer, or every customer")
    before = await describe_app(connection, client_id)
    values: dict[str, object] = {}
    if name is not None:
        if not name.strip():
            raise ValueError("a name must not be blank")
        values["name"] = name.strip()
    if permissions is not None:
        if not permissions:
            raise ValueError("an app needs at least one permission")
        values["permissions"] = " ".join(sorted(permissions))
    if customer_ids is not None or all_customers:
        values["all_customers"] = all_customers
        await connection.execute(
            delete(app_customers).where(
                app_customers.c.partner_id == before.partner_id,
                app_customers.c.client_id == client_id,
            )
        )
        if customer_ids is not None:
            await _scope_to(connection, before.partner_id, client_id, customer_ids)
    if values:
        await connection.execute(
            update(apps)
            .where(apps.c.partner_id == before.partner_id, apps.c.client_id == client_id)
            .values(values)
        )
    return before, await describe_app(connection, client_id)


@dataclass(frozen=True, slots=True)
class AppRemoval:
    """An app deleted (or about to be), and its credentials and scope that go with it."""

    app: AppDetails
    secrets: int
    certificates: int
    customer_scope_entries: int


async def app_removal(connection: AsyncConnection, client_id: str) -> AppRemoval:
    """What :func:`delete_app` would remove, removing nothing."""
    app = await describe_app(connection, client_id)
    return AppRemoval(app, len(app.secrets), len(app.certificates), len(app.customer_ids or ()))


async def delete_app(connection: AsyncConnection, client_id: str) -> AppRemoval:
    """Delete an app registration with its secrets, certificates and customer scope, in
    the caller's transaction. Its secrets and certificates stop working at once; access
    tokens it holds still verify until they expire, but see no customer (every read
    checks the app's scope, which is gone)."""
    app = await describe_app(connection, client_id)
    its = (apps.c.partner_id == app.partner_id, apps.c.client_id == client_id)
    removed = []
    for table in (app_secrets, app_certificates, app_customers, assertion_jtis):
        result = await connection.execute(
            delete(table).where(
                table.c.partner_id == app.partner_id, table.c.client_id == client_id
            )
        )
        removed.append(result.rowcount)
    await connection.execute(delete(apps).where(*its))
    secrets, certificates, scope_entries, _ = removed
    return AppRemoval(app, secrets, certificates, scope_entries)


async def authenticate_with_secret(
    connection: AsyncConnection, client_id: str, secret: str, *, now: datetime
) -> App:
    """The app if ``secret`` is one of its unexpired secrets; records the secret's use.

    Raises :class:`ClientAuthenticationError` otherwise.
    """
    app, matched = await secret_holder(connection, client_id, secret, now=now)
    await connection.execute(
        update(app_secrets).where(app_secrets.c.id == matched.id).values(last_used_at=now)
    )
    return app


@dataclass(frozen=True, slots=True)
class MatchedSecret:
    id: str
    expires_at: datetime


async def secret_holder(
    connection: AsyncConnection, client_id: str, secret: str, *, now: datetime
) -> tuple[App, MatchedSecret]:
    """The app whose unexpired secret ``secret`` is, and which secret it is; reads only.

    Raises :class:`ClientAuthenticationError` otherwise.
    """
    app = await get_app(connection, client_id)
    rows = await connection.execute(
        select(app_secrets.c.id, app_secrets.c.secret_hash, app_secrets.c.expires_at).where(
            app_secrets.c.client_id == client_id
        )
    )
    matched = expired = None
    for secret_id, digest, expires_at in rows:
        # Compare against every candidate, so timing does not tell which one matched.
        if secret_matches(secret, digest):
            if expires_at > now:
                matched = MatchedSecret(secret_id, expires_at)
            else:
                expired = expires_at
    if app is None or matched is None:
        if app is not None and expired is not None:
            raise ClientAuthenticationError(
                f"the client secret expired at {expired:%Y-%m-%dT%H:%M:%SZ}"
            )
        raise ClientAuthenticationError("unknown client, or wrong or expired secret")
    return app, matched
