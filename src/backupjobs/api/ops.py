"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency

from backupjobs.api.context import AppContext
from backupjobs.api.problems import (
    RETRY_AFTER_UNAVAILABLE,
    ProblemError,
    database_refused,
    problem_responses,
)
from backupjobs.store.database import Database


@get("/healthz", summary="The process is alive", tags=["operations"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/readyz",
    summary="The database is reachable",
    responses=problem_responses(503),
    tags=["operations"],
)
async def readyz(request: Request[Any, Any, Any], db: NamedDependency[Database]) -> dict[str, str]:
    """Ready while the database answers, through the pool and (PostgreSQL) the job
    pages' own connections, within ``BACKUPJOBS_DATABASE_TIMEOUT``."""
    try:
        await db.ping()
    except Exception as error:
        database_refused(request, error)
        raise ProblemError(
            503,
            "The database is not reachable.",
            headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
        ) from None
    return {"status": "ready"}


@get(
    "/metrics",
    media_type=MediaType.TEXT,
    summary="Prometheus metrics",
    description="The Prometheus text exposition format (`text/plain; version=...`).",
    tags=["operations"],
)
async def metrics(context: NamedDependency[AppContext]) -> Response[str]:
    registry = context.metrics
    await registry.read_recorded(context.db)
    # The exposition format's own content type, charset included: given whole, so that
    # Litestar does not add a second charset to a text/ type.
    return Response(
        registry.render().decode(),
        media_type=MediaType.TEXT,
        headers={"content-type": registry.content_type},
    )
