"""The dashboard (SPEC §10.6): server-rendered pages for a partner's staff at ``/dashboard``.

>>> # app = build_application(settings, plugins=[DashboardPlugin()])   # what server.py runs

What is here, by module: :mod:`.plugin` (the routes, templates and static files added to the
API's application), :mod:`.session` (the signed-in user, cookies, CSRF tokens, the security
headers), :mod:`.signin` (sign-in, sign-out, the account and its password), :mod:`.pages`
(what a signed-in user reads). Pages read through the store's functions with the tenant
scope of the user's partner (:meth:`~backupjobs.store.scope.TenantScope.whole_partner`);
templates under ``templates/``, assets (uPlot vendored, pinned, with its licence) under
``static/``.
"""

from backupjobs.web.plugin import DashboardPlugin

__all__ = ["DashboardPlugin"]
