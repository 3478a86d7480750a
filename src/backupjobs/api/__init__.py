"""HTTP API: one module per API generation, plus ingestion, OAuth2 and operations.

The job pages, the busiest routes, have a fast path of their own (:mod:`.jobpages`);
every other route is written the framework's way.
"""

from backupjobs.api.app import build_application

__all__ = ["build_application"]
