"""What every handler can reach: settings, database, keys and tokens, metrics, rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from backupjobs.api.metrics import Metrics
from backupjobs.api.ratelimit import RateLimiter
from backupjobs.auth.keys import KeyRing
from backupjobs.auth.tokens import TokenIssuer, TokenVerifier
from backupjobs.readmodel import ReadModel
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    read_model: ReadModel
    ingestor: Ingestor
    keys: KeyRing
    issuer: TokenIssuer
    verifier: TokenVerifier
    metrics: Metrics
    limiter: RateLimiter

    @classmethod
    def build(cls, settings: Settings, db: Database) -> Services:
        keys = KeyRing(db, token_lifetime=settings.token_lifetime)
        return cls(
            settings=settings,
            db=db,
            read_model=ReadModel(db),
            ingestor=Ingestor(db),
            keys=keys,
            issuer=TokenIssuer(keys, issuer=settings.public_url, lifetime=settings.token_lifetime),
            verifier=TokenVerifier(keys, issuer=settings.public_url),
            metrics=Metrics(),
            limiter=RateLimiter.from_settings(settings),
        )


def services(request: Request[Any, Any, Any]) -> Services:
    # By key: State's attribute access is several times slower, on every request.
    found: Services = request.app.state["services"]
    return found
