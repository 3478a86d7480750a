"""HTTP API: one module per API generation, plus ingestion, OAuth2 and operations."""

from backupjobs.api.app import create_app

__all__ = ["create_app"]
