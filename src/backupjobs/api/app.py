"""The ASGI application.

>>> from backupjobs.api import create_app
>>> app = create_app()          # settings from BACKUPJOBS_* variables

``granian --interface asgi --factory backupjobs.api:create_app`` serves it; so does
``backupjobs serve``.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Server

from backupjobs import __version__
from backupjobs.api import docs, ingest, modern, oauth, ops, v3
from backupjobs.api.context import Services
from backupjobs.api.problems import EXCEPTION_HANDLERS
from backupjobs.api.ratelimit import per_app_limit
from backupjobs.auth.keys import ensure_signing_key
from backupjobs.log import configure_logging
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from backupjobs.store.retention import keep_days

DOCS_PATH = "/docs"
#: Allocations between two collections of the garbage collector's young generation.
YOUNG_COLLECTION_EVERY = 10_000


def _openapi(settings: Settings) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="backupjobs",
        version=__version__,
        description=(
            "Backup job details of an MSP partner's customers, through the v3 and Modern "
            "partner jobs APIs, behind OAuth2 client credentials (`POST /connect/token`). "
            "Errors are RFC 9457 problem details, except at the token endpoint (RFC 6749)."
        ),
        servers=[Server(url=settings.public_url)],
        path=DOCS_PATH,
        render_plugins=docs.render_plugins(DOCS_PATH),
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="An access token from POST /connect/token.",
                )
            }
        ),
    )


def create_app(settings: Settings | None = None) -> Litestar:
    """The application for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, json=settings.log_json)
    db = Database(
        settings.database_url,
        pool_size=settings.database_pool_size,
        read_url=settings.database_read_url,
    )
    context = Services.build(settings, db)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.migrate()
        await db.follow_changes()
        await ensure_signing_key(db, now=datetime.now(UTC))
        await context.keys.load()
        await context.limiter.counters.start()
        # What start-up made lives as long as the process: keep the garbage collector
        # from walking it on every full collection (a pause of tens of milliseconds).
        gc.collect()
        gc.freeze()
        # A young collection walks what the requests in flight hold at that moment, about
        # the same whenever it runs: collecting every YOUNG_COLLECTION_EVERY allocations
        # instead of 700 costs a fraction (measured: 9 us a job page down to 4-6).
        gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
        retention = (
            asyncio.create_task(keep_days(db, settings.retention_days))
            if settings.retention_days
            else None
        )
        try:
            yield
        finally:
            if retention is not None:
                retention.cancel()
                with suppress(asyncio.CancelledError):
                    await retention
            await context.limiter.counters.close()
            await db.dispose()

    return Litestar(
        route_handlers=[
            v3.router,
            modern.router,
            ingest.ingest_jobs,
            oauth.issue_token,
            oauth.jwks,
            oauth.discovery,
            ops.healthz,
            ops.readyz,
            ops.metrics,
            docs.assets_router(DOCS_PATH),
        ],
        state=State({"services": context}),
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[context.metrics.middleware, per_app_limit(context.limiter, context.verifier)],
        openapi_config=_openapi(settings),
        request_max_body_size=settings.max_request_bytes,
        logging_config=None,
        debug=False,
    )
