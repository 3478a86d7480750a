"""A dashboard page whose template cannot be rendered is a 500, not a database outage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from jinja2 import ChoiceLoader, DictLoader
from litestar import Litestar, Request, Response, get
from litestar.config.app import AppConfig
from litestar.params import FromPath
from litestar.plugins import InitPluginProtocol

from backupjobs.api import build_application
from backupjobs.api.outage import STATE_KEY as OUTAGE_KEY
from backupjobs.settings import Settings
from backupjobs.web import DashboardPlugin
from backupjobs.web.render import page
from tests.conftest import PUBLIC_URL

#: A template that exists but includes one that does not (jinja raises TemplateNotFound,
#: an OSError, while rendering it).
BROKEN = {"includes-a-missing-one.html.j2": '{% include "gone.html.j2" %}'}


@get("/rendered/{template:str}")
async def rendered(request: Request[Any, Any, Any], template: FromPath[str]) -> Response[Any]:
    return page(request, template, user=None)


class RenderedTemplates(InitPluginProtocol):
    """A route rendering any template by name through the dashboard's ``page``."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(rendered)
        return app_config


@pytest.fixture
async def broken_templates_app(dashboard_settings: Settings) -> AsyncIterator[Litestar]:
    application = build_application(
        dashboard_settings, plugins=[DashboardPlugin(), RenderedTemplates()]
    )
    engine = application.template_engine
    assert engine is not None
    environment = engine.engine  # type: ignore[attr-defined]
    environment.loader = ChoiceLoader([DictLoader(BROKEN), environment.loader])
    async with application.lifespan():
        yield application


@pytest.mark.parametrize("template", ["no-such-page.html.j2", "includes-a-missing-one.html.j2"])
async def test_a_template_that_cannot_be_rendered_is_a_500_and_no_database_outage(
    broken_templates_app: Litestar, template: str
) -> None:
    transport = httpx.ASGITransport(app=broken_templates_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        answer = await client.get(f"/rendered/{template}")
        assert answer.status_code == 500
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "Retry-After" not in answer.headers
        assert answer.json()["detail"] == "The server failed to handle this request."
        assert "Traceback" not in answer.text
        assert "gone.html.j2" not in answer.text
        # The database is fine, and the log says nothing of an outage.
        assert not broken_templates_app.state[OUTAGE_KEY].unavailable
        assert (await client.get("/readyz")).status_code == 200
