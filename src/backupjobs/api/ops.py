"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response, get

from backupjobs.api.context import services
from backupjobs.api.problems import ProblemError, problem_responses

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
async def readyz(request: Request[Any, Any, Any]) -> dict[str, str]:
    try:
        await services(request).db.ping()
    except Exception as error:
        _log.warning("database unreachable", error=type(error).__name__)
        raise ProblemError(503, "The database is not reachable.") from None
    return {"status": "ready"}


@get("/metrics", summary="Prometheus metrics", tags=["operations"], include_in_schema=True)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    registry = services(request).metrics
    return Response(registry.render(), media_type=registry.content_type)
