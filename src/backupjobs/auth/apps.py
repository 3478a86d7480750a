"""App registrations: permissions, customer scope and client secrets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.auth.secrets import generate_secret, hash_secret, new_id, secret_matches
from backupjobs.store.directory import NotFoundError, require_partner
from backupjobs.store.schema import app_customers, app_secrets, apps, customers

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


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February into a year without one
        return moment.replace(year=moment.year + years, day=28)


async def create_app(
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
            raise NotFoundError(
                "partner has no customer " + ", ".join(str(c) for c in sorted(missing))
            )
        await connection.execute(
            app_customers.insert(),
            [
                {"partner_id": partner_id, "customer_id": customer, "client_id": client_id}
                for customer in sorted(wanted)
            ],
        )
    secret = await add_secret(connection, client_id, years=secret_years, now=now)
    return client_id, secret


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


async def authenticate_with_secret(
    connection: AsyncConnection, client_id: str, secret: str, *, now: datetime
) -> App | None:
    """The app if ``secret`` is one of its unexpired secrets; records the secret's use."""
    app = await get_app(connection, client_id)
    rows = await connection.execute(
        select(app_secrets.c.id, app_secrets.c.secret_hash).where(
            app_secrets.c.client_id == client_id, app_secrets.c.expires_at > now
        )
    )
    matched = None
    for secret_id, digest in rows:
        # Compare against every candidate, so timing does not tell which one matched.
        if secret_matches(secret, digest):
            matched = secret_id
    if app is None or matched is None:
        return None
    await connection.execute(
        update(app_secrets).where(app_secrets.c.id == matched).values(last_used_at=now)
    )
    return app
