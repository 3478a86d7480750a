"""The dashboard added to the API's application: routes under ``/dashboard``, its
templates, static files and security headers, and the answers of its errors as pages.

>>> # build_application(settings, plugins=[DashboardPlugin()])
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request, Response, Router, get
from litestar.config.app import AppConfig
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath
from litestar.plugins import InitPluginProtocol
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from backupjobs import __version__
from backupjobs.api.context import STATE_KEY as CONTEXT_KEY
from backupjobs.api.context import AppContext
from backupjobs.web import alerts, pages, signin
from backupjobs.web.render import STATIC, TEMPLATES, page
from backupjobs.web.session import (
    PATH,
    STATE_KEY,
    Dashboard,
    PageError,
    PasswordChangeRequired,
    SignInRequired,
    security_headers,
    sign_in_url,
)

#: Assets are named by the package's version in their URLs: a browser may keep them a day.
ASSETS_MAX_AGE = 86_400


@get("/{rest:path}", name="dashboard:unknown", include_in_schema=False)
async def unknown(rest: FromPath[str]) -> None:
    """Any other path under the dashboard: its 404 page, with the dashboard's headers."""
    raise PageError(404, "There is no such page.")


def _to_sign_in(_: Request[Any, Any, Any], error: SignInRequired) -> Response[Any]:
    return Redirect(sign_in_url(error.next_path), status_code=303)


def _to_password(_: Request[Any, Any, Any], __: PasswordChangeRequired) -> Response[Any]:
    return Redirect(f"{PATH}/account/password", status_code=303)


def _error_page(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if isinstance(error, PageError):
        status, message, headers = error.status_code, error.message, error.headers or {}
    elif isinstance(error, NotFoundException):
        status, message, headers = 404, "There is no such page.", {}
    else:
        status, message, headers = 400, "This request was not understood.", {}
    return page(
        request,
        "error.html.j2",
        user=None,
        status=status,
        headers=headers,
        title=HTTPStatus(status).phrase,
        message=message,
    )


def router() -> Router:
    """Every route of the dashboard, under :data:`PATH`."""
    return Router(
        path=PATH,
        route_handlers=[
            *pages.ROUTES,
            *alerts.ROUTES,
            *signin.ROUTES,
            unknown,
            create_static_files_router(
                path=f"/static/{__version__}",
                directories=[STATIC],
                name="dashboard:static",
                cache_control=CacheControlHeader(max_age=ASSETS_MAX_AGE, private=True),
                include_in_schema=False,
            ),
        ],
        middleware=[security_headers],
        exception_handlers={
            SignInRequired: _to_sign_in,
            PasswordChangeRequired: _to_password,
            PageError: _error_page,
            NotFoundException: _error_page,
            ValidationException: _error_page,
        },
        include_in_schema=False,
    )


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=False,
    )
    environment.globals["static"] = f"{PATH}/static/{__version__}"
    return environment


class DashboardPlugin(InitPluginProtocol):
    """Adds the dashboard to the application being built."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(router())
        app_config.template_config = TemplateConfig(
            instance=JinjaTemplateEngine.from_environment(_environment())
        )
        app_config.on_startup.append(_start)
        return app_config


async def _start(app: Litestar) -> None:
    context: AppContext = app.state[CONTEXT_KEY]
    dashboard = Dashboard.from_settings(context.settings)
    await dashboard.load(context.db)
    app.state[STATE_KEY] = dashboard
