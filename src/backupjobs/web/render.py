"""Pages from templates, with what every page shows: the user, the navigation, the CSRF
token its forms post back."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Template

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
    ("/alerts", "Alerts", True),
    ("/account", "Account", False),
)


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
    **context: Any,
) -> Template:
    """The page ``template`` for ``user`` (None: signed out)."""
    dashboard = dashboard_of(request)
    navigation = [
        {"href": f"{PATH}{path}", "label": label, "current": request.url.path == f"{PATH}{path}"}
        for path, label, admins_only in NAVIGATION
        if user is not None and (user.is_admin or not admins_only)
    ]
    return Template(
        template_name=template,
        context={
            "user": user,
            "navigation": navigation,
            "base": PATH,
            "csrf": dashboard.csrf_token(csrf_from or csrf_cookie(request)),
            **context,
        },
        status_code=status,
        cookies=cookies or [],
        headers=dict(headers or {}),
        media_type="text/html",
    )
