"""The ASGI application.

>>> from backupjobs.api import build_application
>>> app = build_application()          # settings from BACKUPJOBS_* variables

``backupjobs serve`` runs it on granian, in each worker through :mod:`backupjobs.server`
(``granian --interface asgi --factory backupjobs.server:application``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from litestar import Litestar, Router
from litestar.datastructures import ResponseHeader, State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Server
from litestar.plugins import PluginProtocol

from backupjobs import __version__
from backupjobs.api import (
    docs,
    history,
    ingest,
    jobpages,
    modern,
    oauth,
    odata,
    odata_history,
    ops,
    service_health,
    summary,
    v3,
    webhooks,
)
from backupjobs.api.context import STATE_KEY, AppContext, app_context, database
from backupjobs.api.limits import request_target_limit
from backupjobs.api.outage import STATE_KEY as OUTAGE_KEY
from backupjobs.api.problems import EXCEPTION_HANDLERS
from backupjobs.api.ratelimit import per_app_limit
from backupjobs.api.security import principal_of
from backupjobs.auth.keys import ensure_signing_key
from backupjobs.infra.tasks import stop
from backupjobs.log import configure_logging
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from backupjobs.store.retention import keep_days
from backupjobs.sync import SyncOptions, keep_syncing

DOCS_PATH = "/docs"
#: What the routes may ask for by parameter name (see :mod:`.context`).
DEPENDENCIES = {
    "context": Provide(app_context, sync_to_thread=False),
    "db": Provide(database, sync_to_thread=False),
    "principal": Provide(principal_of, sync_to_thread=False),
}


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
            },
        ),
    )


def build_application(
    settings: Settings | None = None, *, plugins: Sequence[PluginProtocol] = ()
) -> Litestar:
    """The application for ``settings`` (default: from the environment), with ``plugins``
    (the dashboard: :class:`backupjobs.web.DashboardPlugin`)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, json=settings.log_json)
    db = Database(
        settings.database_url,
        pool_size=settings.database_pool_size,
        read_url=settings.database_read_url,
        timeout=settings.database_timeout,
    )
    context = AppContext.build(settings, db)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.migrate()
        await context.read_model.start()
        await ensure_signing_key(db, now=datetime.now(UTC))
        await context.keys.load()
        await context.cursors.load(db)
        await context.limiter.counters.start()
        await context.alerts.start()
        retention = (
            asyncio.create_task(keep_days(db, settings.retention_days))
            if settings.retention_days
            else None
        )
        # Upstreams are run by whichever process takes their lease (store/upstreams.py).
        syncing = (
            asyncio.create_task(
                keep_syncing(
                    db,
                    context.ingestor,
                    SyncOptions.from_settings(settings),
                    observe=context.metrics.sync_run,
                )
            )
            if settings.sync_in_serve
            else None
        )
        try:
            yield
        finally:
            await stop(syncing)
            await stop(retention)
            await context.alerts.close()
            await context.outage.close()
            await context.limiter.counters.close()
            await context.read_model.close()
            await db.dispose()

    return Litestar(
        route_handlers=[
            Router(path=v3.PREFIX, route_handlers=[*jobpages.V3_ROUTES, *v3.ROUTES]),
            Router(
                path=odata.SERVICE_ROOT,
                route_handlers=[*jobpages.MODERN_ROUTES, *modern.ROUTES],
                response_headers=[
                    ResponseHeader(name=odata.VERSION_HEADER[0], value=odata.VERSION_HEADER[1])
                ],
            ),
            Router(
                path=odata_history.ROOT,
                route_handlers=odata_history.ROUTES,
                response_headers=[
                    ResponseHeader(name=odata.VERSION_HEADER[0], value=odata.VERSION_HEADER[1])
                ],
            ),
            ingest.ingest_jobs,
            *history.ROUTES,
            *service_health.ROUTES,
            *summary.ROUTES,
            *webhooks.ROUTES,
            oauth.issue_token,
            oauth.jwks,
            oauth.discovery,
            ops.healthz,
            ops.readyz,
            ops.metrics,
            docs.assets_router(DOCS_PATH),
        ],
        state=State({STATE_KEY: context, OUTAGE_KEY: context.outage}),
        dependencies=DEPENDENCIES,
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            context.metrics.middleware,
            request_target_limit,
            per_app_limit(context.limiter, context.verifier, context.basic),
        ],
        openapi_config=_openapi(settings),
        plugins=list(plugins),
        request_max_body_size=settings.max_request_bytes,
        logging_config=None,
        debug=False,
    )
