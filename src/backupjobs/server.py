"""What ``backupjobs serve`` runs in each granian worker: the application, tuned for a
long-running server process.

    granian --interface asgi --factory backupjobs.server:application

The tuning is the garbage collector's: once the application has started (migrations,
signing keys, the change feed), what start-up made lives as long as the process, so it
is frozen out of every full collection (a pause of tens of milliseconds otherwise), and
the young generation is collected every :data:`YOUNG_COLLECTION_EVERY` allocations
instead of 700: a young collection walks what the requests in flight hold at that moment,
about the same whenever it runs, so collecting less often costs a fraction (measured: 9 us
a job page down to 4-6). Tests and other embedders of :func:`build_application` keep the
interpreter's defaults.
"""

from __future__ import annotations

import gc

from litestar import Litestar

from backupjobs.api import build_application
from backupjobs.web import DashboardPlugin

#: Allocations between two collections of the garbage collector's young generation.
YOUNG_COLLECTION_EVERY = 10_000


def tune_garbage_collection() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])


def application() -> Litestar:
    """The application (settings from ``BACKUPJOBS_*`` variables) with the dashboard, its
    garbage collection tuned once it has started."""
    app = build_application(plugins=[DashboardPlugin()])
    app.on_startup.append(tune_garbage_collection)
    return app
