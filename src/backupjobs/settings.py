"""One settings object, read from ``BACKUPJOBS_*`` environment variables.

>>> settings = Settings.from_env({"BACKUPJOBS_PORT": "9000"})
>>> settings.public_url
'http://127.0.0.1:9000'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any

from backupjobs.model.durations import format_iso_duration, parse_duration

PREFIX = "BACKUPJOBS_"


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Service configuration; every field is ``BACKUPJOBS_<FIELD NAME IN CAPITALS>``."""

    #: ``sqlite:///path`` or ``postgresql://user@host:port/db``; drivers are picked here.
    database_url: str = "sqlite:///backupjobs.db"
    host: str = "127.0.0.1"
    port: int = 8000
    #: Base URL clients reach the service at: ``@odata.context``, token ``aud`` and ``iss``.
    #: Empty means ``http://HOST:PORT``.
    public_url: str = ""
    #: A PostgreSQL read replica for the job pages (empty: the database itself). The
    #: pages then lag the primary by the replica's delay.
    database_read_url: str = ""
    #: Connections per API process (PostgreSQL), for writes and for the job pages each.
    database_pool_size: int = 10
    #: Seconds a request waits on PostgreSQL at most: for a connection, and for a job
    #: page's read; past it the answer is 503 with Retry-After.
    database_timeout: float = 5.0
    #: Lifetime of issued access tokens, in seconds.
    token_lifetime: int = 3600
    #: Largest request body accepted, in bytes; larger ones get 413.
    max_request_bytes: int = 4 * 1024 * 1024
    #: ``debug``, ``info``, ``warning`` or ``error``.
    log_level: str = "info"
    #: Log lines as JSON (for collectors) rather than for a terminal.
    log_json: bool = False
    #: ``redis://host:port/db``: rate-limit counters shared by every API process. Empty:
    #: each process counts on its own.
    redis_url: str = ""
    #: Prefix of every Redis key this service writes (several deployments, one Redis).
    redis_key_prefix: str = "backupjobs:"
    #: Rate-limit window, in seconds, of the quotas below; a quota of 0 means no limit.
    rate_limit_window: int = 60
    #: Requests per window per app on the resource APIs (every request with its token).
    rate_limit_app: int = 3000
    #: Token requests per window per client, once the client has authenticated.
    rate_limit_token_client: int = 60
    #: Token requests per window per client address, whatever their outcome.
    rate_limit_token_address: int = 300
    #: Dashboard sign-in attempts per window for one email address, whatever their outcome.
    rate_limit_signin_account: int = 10
    #: Dashboard sign-in attempts per window from one client address.
    rate_limit_signin_address: int = 60
    #: Days of job history kept; older jobs (but never a service's latest) are removed in
    #: the background. 0 keeps everything.
    retention_days: int = 0
    #: ISO 8601 duration (``PT36H``): a service with no job changed within it makes its
    #: customer "No backup updates" (SPEC §5); one with no successful job within it is
    #: stale (SPEC §10). Requests and webhooks may ask for another (``staleAfter``).
    stale_after: timedelta = timedelta(hours=36)
    #: Upstream sync (``backupjobs sync``): customers whose jobs a run reads at the same
    #: time, and seconds one upstream request may take before it is tried again.
    sync_concurrency: int = 4
    sync_timeout: float = 30.0
    #: Webhooks may go to loopback, private and link-local addresses (a receiver on this
    #: host or network): off by default, as such a URL could reach internal services.
    webhook_allow_private: bool = False

    def __post_init__(self) -> None:
        if self.retention_days < 0:
            raise SettingsError(
                f"{PREFIX}RETENTION_DAYS must be 0 (keep all) or a number of days, "
                f"not {self.retention_days}"
            )
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self.host}:{self.port}")
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        if not self.database_timeout > 0:
            raise SettingsError(f"{PREFIX}DATABASE_TIMEOUT must be a number of seconds above 0")
        if self.sync_concurrency < 1:
            raise SettingsError(f"{PREFIX}SYNC_CONCURRENCY must be at least 1")
        if not self.sync_timeout > 0:
            raise SettingsError(f"{PREFIX}SYNC_TIMEOUT must be a number of seconds above 0")
        if self.rate_limit_window < 1:
            raise SettingsError(f"{PREFIX}RATE_LIMIT_WINDOW must be at least 1 (seconds)")
        for name in (
            "rate_limit_app",
            "rate_limit_token_client",
            "rate_limit_token_address",
            "rate_limit_signin_account",
            "rate_limit_signin_address",
        ):
            if getattr(self, name) < 0:
                raise SettingsError(f"{PREFIX}{name.upper()} must be 0 (no limit) or more")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (the process environment by default)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = environ.get(PREFIX + spec.name.upper())
            if raw is None or raw == "":
                continue
            values[spec.name] = _convert(spec.name, spec.type, raw)
        return cls(**values)

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with ``changes``; ``public_url`` follows host and port unless set."""
        if ("host" in changes or "port" in changes) and "public_url" not in changes:
            default = f"http://{self.host}:{self.port}"
            if self.public_url == default:
                changes["public_url"] = ""
        return replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The environment that recreates these settings in another process."""
        env = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, timedelta):
                text = format_iso_duration(value)
            else:
                text = str(value)
            env[PREFIX + spec.name.upper()] = text
        return env


def _convert(name: str, annotation: object, raw: str) -> object:
    variable = PREFIX + name.upper()
    if annotation in (int, "int"):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{variable} must be an integer, not {raw!r}") from None
    if annotation in (float, "float"):
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{variable} must be a number, not {raw!r}") from None
    if annotation in (bool, "bool"):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{variable} must be true or false, not {raw!r}")
    if annotation in (timedelta, "timedelta"):
        try:
            return parse_duration(raw)
        except ValueError as error:
            raise SettingsError(f"{variable}: {error}") from None
    return raw
