"""Operator commands, a module per group: they work on the database that
``BACKUPJOBS_DATABASE_URL`` names (SPEC section 11), each group a typer app ``group``.

- :mod:`.db`: the schema; :mod:`.partners`, :mod:`.customers`, :mod:`.services`: the
  directory; :mod:`.apps`: app registrations, and :mod:`.app_credentials` their secrets
  and certificates (commands of the same group); :mod:`.keys`: the keys that sign access
  tokens; :mod:`.sync`: upstreams mirrored (vendor tenants) and their runs.
"""

import typer

from backupjobs.cli.operator import (
    app_credentials,  # noqa: F401 - registers its commands in the apps group
    apps,
    customers,
    db,
    keys,
    partners,
    services,
    sync,
)

#: (name, typer app) of each group, in the order ``backupjobs --help`` lists them.
GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("db", db.group),
    ("partners", partners.group),
    ("customers", customers.group),
    ("services", services.group),
    ("apps", apps.group),
    ("keys", keys.group),
    ("sync", sync.group),
)
