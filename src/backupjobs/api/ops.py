"""Liveness, readiness and metrics."""

from __future__ import annotations

import structlog
from litestar import Response, get
from litestar.di import NamedDependency

from backupjobs.api.context import AppContext
from backupjobs.api.problems import ProblemError, problem_responses
from backupjobs.store.database import Database

_log = structlog.get_logger("backupjobs.api")


@get("/healthz", summary="The process is alive", tags=["operations"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/readyz",
    summary="The database is reachable",
    responses=problem_responses(503),
    tags=["operations"],
)
async def readyz(db: NamedDependency[Database]) -> dict[str, str]:
    try:
        await db.ping()
    except Exception as error:
        _log.warning("database unreachable", error=type(error).__name__)
        raise ProblemError(503, "The database is not reachable.") from None
    return {"status": "ready"}


@get("/metrics", summary="Prometheus metrics", tags=["operations"], include_in_schema=True)
async def metrics(context: NamedDependency[AppContext]) -> Response[bytes]:
    registry = context.metrics
    return Response(registry.render(), media_type=registry.content_type)
