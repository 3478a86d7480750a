"""What every handler can reach: the application's context, one per application.

Idiomatic routes declare what they need as parameters, which the application provides
(``dependencies`` in :mod:`.app`): ``context`` (an :class:`AppContext`), ``db`` (its
database) and ``principal`` (whom a guarded request acts for, see :mod:`.security`). The
job pages' fast path reads it with :func:`app_context`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection

from backupjobs.alerts import Alerts
from backupjobs.api.basic import BasicSignIn
from backupjobs.api.listing import CursorPaging
from backupjobs.api.metrics import Metrics
from backupjobs.api.outage import OutageLog
from backupjobs.api.ratelimit import RateLimiter
from backupjobs.auth.basic import BasicVerifier
from backupjobs.auth.keys import KeyRing
from backupjobs.auth.tokens import TokenIssuer, TokenVerifier
from backupjobs.readmodel import ReadModel
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor

#: Key of the context in the application's state.
STATE_KEY = "context"


@dataclass(frozen=True, slots=True)
class AppContext:
    """The application's parts: settings, database, read model and ingestion, keys and
    tokens, metrics, rate limits, the lists' cursors, the log of database outages, the
    OData services' Basic sign-in, alerts."""

    settings: Settings
    db: Database
    read_model: ReadModel
    ingestor: Ingestor
    keys: KeyRing
    issuer: TokenIssuer
    verifier: TokenVerifier
    metrics: Metrics
    limiter: RateLimiter
    cursors: CursorPaging
    outage: OutageLog
    basic: BasicSignIn
    alerts: Alerts

    @classmethod
    def build(cls, settings: Settings, db: Database) -> AppContext:
        keys = KeyRing(db, token_lifetime=settings.token_lifetime)
        limiter = RateLimiter.from_settings(settings)
        metrics = Metrics()
        return cls(
            settings=settings,
            db=db,
            read_model=ReadModel(db),
            ingestor=Ingestor(db),
            keys=keys,
            issuer=TokenIssuer(keys, issuer=settings.public_url, lifetime=settings.token_lifetime),
            verifier=TokenVerifier(keys, issuer=settings.public_url),
            metrics=metrics,
            limiter=limiter,
            cursors=CursorPaging(settings.public_url),
            outage=OutageLog(db.ping),
            basic=BasicSignIn(BasicVerifier(db), limiter),
            alerts=Alerts(db, allow_private=settings.webhook_allow_private, metrics=metrics.alerts),
        )


def app_context(request: ASGIConnection[Any, Any, Any, Any]) -> AppContext:
    """The application's context (the ``context`` dependency)."""
    # By key: State's attribute access is several times slower, on every request.
    found: AppContext = request.app.state[STATE_KEY]
    return found


def database(request: ASGIConnection[Any, Any, Any, Any]) -> Database:
    """The application's database (the ``db`` dependency)."""
    return app_context(request).db
