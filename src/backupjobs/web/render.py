"""Pages from templates, with what every page shows: the user, the navigation, the CSRF
token its forms post back.

A template that cannot be rendered (missing, or including one that is) is a fault of this
program: :func:`page` raises :class:`BrokenTemplateError`, which the application answers
with its 500 problem and the template named in the log. (Jinja's own ``TemplateNotFound``
is an ``OSError``, but not one about reaching the database: it would be a 500 too, never
an outage; see :func:`~backupjobs.store.database.database_unavailable`.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import TemplateNotFoundException

from backupjobs.auth.users import User
from backupjobs.web.session import (
    PATH,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    dashboard_of,
)

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

#: The navigation: (path under /dashboard, label, admins only), in the order shown.
NAVIGATION: tuple[tuple[str, str, bool], ...] = (
    ("", "Overview", False),
    ("/attention", "Attention", False),
    ("/alerts", "Alerts", True),
    ("/account", "Account", False),
)


class BrokenTemplateError(RuntimeError):
    """A template this program cannot render: a bug, answered 500 (never an outage)."""


def csrf_cookie(request: Request[Any, Any, Any], new_sign_in_cookie: str | None = None) -> str:
    """The cookie value this browser's CSRF token is computed from (as :func:`checked_form
    <backupjobs.web.session.checked_form>` reads it back)."""
    return (
        request.cookies.get(SESSION_COOKIE)
        or new_sign_in_cookie
        or request.cookies.get(SIGN_IN_COOKIE, "")
    )


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    user: User | None,
    status: int = 200,
    cookies: list[Cookie] | None = None,
    headers: Mapping[str, str] | None = None,
    csrf_from: str | None = None,
    etag: str | None = None,
    **context: Any,
) -> Response[Any]:
    """The page ``template`` for ``user`` (None: signed out), with an ``ETag``: a request
    whose ``If-None-Match`` names it (the live updates' polling) gets a bodiless 304.

    ``etag``: the page's ETag known before it was read (:mod:`.live`, whose handlers
    answer the 304 themselves, before reading); else a digest of the HTML."""
    dashboard = dashboard_of(request)
    navigation = [
        {"href": f"{PATH}{path}", "label": label, "current": request.url.path == f"{PATH}{path}"}
        for path, label, admins_only in NAVIGATION
        if user is not None and (user.is_admin or not admins_only)
    ]
    engine = request.app.template_engine
    assert engine is not None  # set by DashboardPlugin
    try:
        html = engine.get_template(template).render(
            user=user,
            navigation=navigation,
            base=PATH,
            csrf=dashboard.csrf_token(csrf_from or csrf_cookie(request)),
            etag=etag,
            **context,
        )
    except (TemplateError, TemplateNotFoundException) as error:
        raise BrokenTemplateError(f"template {template!r} cannot be rendered: {error}") from error
    if etag is None:
        etag = '"' + hashlib.sha256(html.encode()).hexdigest()[:32] + '"'
    answer_headers = {**(headers or {}), "ETag": etag, "Vary": "Cookie"}
    if status == 200 and request.headers.get("if-none-match") == etag:
        return Response(content=b"", status_code=304, headers=answer_headers)
    return Response(
        content=html,
        status_code=status,
        cookies=cookies or [],
        headers=answer_headers,
        media_type="text/html; charset=utf-8",
    )
