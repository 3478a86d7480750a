"""The ceiling: the same stack (Litestar on granian, msgspec) answering a constant page.

No authentication, no database, no rendering: what the HTTP stack alone costs for the
same route and the same response body. ``BENCH_CEILING`` names a JSON file listing the
pages to answer: ``[{"method": "POST", "path": "/.../customers/{customer}/jobs",
"body": <the JSON page>}, ...]``.

    granian --interface asgi --factory bench.ceiling:create_app
"""

from __future__ import annotations

import json
import os
from typing import Any

from litestar import Litestar, get, route
from litestar.handlers import HTTPRouteHandler


def _page_handler(method: str, path: str, page: Any) -> HTTPRouteHandler:
    template = path.replace("{customer}", "{customer:str}")

    async def constant_page(customer: str) -> Any:
        return page

    return route(template, http_method=[method], status_code=200, sync_to_thread=False)(
        constant_page
    )


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    with open(os.environ["BENCH_CEILING"], encoding="utf-8") as pages:
        listed = json.load(pages)
    handlers = [_page_handler(p["method"], p["path"], p["body"]) for p in listed]
    return Litestar([*handlers, healthz], logging_config=None, debug=False)
