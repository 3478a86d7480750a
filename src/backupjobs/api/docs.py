"""The interactive API docs, served whole by this process: ``/docs`` (Scalar) and
``/docs/swagger`` (Swagger UI) load their JavaScript and CSS from ``/docs/assets/``, files
vendored in this package (``docs_assets/README.md`` says which, from where, and their
sha256), so that the docs work offline and load nothing from a CDN.

>>> # OpenAPIConfig(..., path="/docs", render_plugins=render_plugins("/docs"))
>>> # Litestar(route_handlers=[..., assets_router("/docs")], ...)
"""

from __future__ import annotations

from pathlib import Path

from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import (
    OpenAPIRenderPlugin,
    ScalarRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.router import Router
from litestar.static_files import create_static_files_router

ASSETS = Path(__file__).parent / "docs_assets"
SCALAR = "scalar-api-reference-1.76.0"
SWAGGER = "swagger-ui-dist-5.18.2"
# Scalar's settings for a page that must not reach out: no web fonts from its CDN, no
# telemetry, no AI agent or MCP helpers (services of scalar.com).
_SCALAR_OPTIONS = {
    "withDefaultFonts": False,
    "telemetry": False,
    "agent": {"disabled": True},
    "mcp": {"disabled": True},
}
# The assets' paths hold their versions: a browser may keep them a day without asking.
_CACHE = CacheControlHeader(public=True, max_age=86_400)


def assets_path(docs_path: str) -> str:
    return f"{docs_path.rstrip('/')}/assets"


def render_plugins(docs_path: str) -> list[OpenAPIRenderPlugin]:
    """Scalar at ``docs_path``, Swagger UI at ``docs_path/swagger``, both on local assets
    and without a favicon (Litestar's default is a CDN's)."""
    assets = assets_path(docs_path)
    return [
        ScalarRenderPlugin(
            path="/",
            js_url=f"{assets}/{SCALAR}/standalone.js",
            css_url=f"{assets}/backupjobs/scalar.css",
            options=_SCALAR_OPTIONS,
            favicon="",
        ),
        SwaggerRenderPlugin(
            path="/swagger",
            js_url=f"{assets}/{SWAGGER}/swagger-ui-bundle.js",
            css_url=f"{assets}/{SWAGGER}/swagger-ui.css",
            standalone_preset_js_url=f"{assets}/{SWAGGER}/swagger-ui-standalone-preset.js",
            favicon="",
        ),
    ]


def assets_router(docs_path: str) -> Router:
    """The vendored files under ``docs_path/assets`` (not in the OpenAPI document)."""
    return create_static_files_router(
        path=assets_path(docs_path),
        directories=[ASSETS],
        include_in_schema=False,
        cache_control=_CACHE,
        name="docs-assets",
    )
