"""Tables, as SQLAlchemy Core metadata. Alembic migrations build the same schema.

Every table holding tenant data leads its keys with ``partner_id`` (and ``customer_id``
where it has one), so that it can be partitioned or distributed by them.

``backup_services`` carries a copy of each service's latest job, kept current on write:
the job pages read that table alone and never scan ``jobs`` (the history).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    case,
    func,
    literal,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime at full (microsecond) precision.

    PostgreSQL stores ``timestamptz``; SQLite stores integer microseconds since the epoch,
    which sort and compare correctly there (its DATETIME is text without a zone).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        if dialect.name == "sqlite":
            return (value - _EPOCH) // _MICROSECOND
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, int):
            return _EPOCH + timedelta(microseconds=value)
        result: datetime = value
        return result.astimezone(UTC)


class Moments(TypeDecorator[tuple[int, ...]]):
    """Moments in order, as microseconds since the epoch (what :class:`UtcDateTime` stores
    on SQLite): ``bigint[]`` on PostgreSQL; on SQLite, text of comma-separated integers.
    Written by SQL alone (:func:`backupjobs.store.directory.summary_update`); read as a
    tuple, empty for NULL."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(BigInteger()))
        return dialect.type_descriptor(Text())

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[int, ...]:
        if not value:
            return ()
        if isinstance(value, str):  # SQLite's group_concat: in no particular order
            return tuple(sorted(map(int, value.split(","))))
        return tuple(value)


def microseconds(moment: datetime) -> int:
    """``moment`` as :class:`Moments` holds it."""
    return (moment - _EPOCH) // _MICROSECOND


#: The first and last moments both databases and Python hold: years 1 to 9999 in UTC
#: (a microsecond inside: asyncpg sends Python's very first and last as -infinity and
#: infinity).
EARLIEST = datetime.min.replace(tzinfo=UTC) + _MICROSECOND
LATEST_MOMENT = datetime.max.replace(tzinfo=UTC) - _MICROSECOND


def in_years_1_to_9999(column: ColumnElement[datetime]) -> ColumnElement[datetime]:
    """``column`` moved into years 1 to 9999 (UTC) if a stored value is outside them.

    Ingestion refuses such times; a database written before it did (or by hand) may hold
    some, and one of them must not make a customer's every page fail to read.
    """
    return case(
        (column < literal(EARLIEST, UtcDateTime()), literal(EARLIEST, UtcDateTime())),
        (column > literal(LATEST_MOMENT, UtcDateTime()), literal(LATEST_MOMENT, UtcDateTime())),
        else_=column,
    )


def sort_time(columns: Any, prefix: str = "") -> ColumnElement[datetime]:
    """A job's sort time among ``columns`` (a table's ``c``, or an upsert's ``excluded``;
    the latest job's with ``prefix`` ``LATEST``): its start time, or its last modification
    when it has not started. :func:`backupjobs.model.latest_sort_key` in Python."""
    return func.coalesce(columns[f"{prefix}start_time"], columns[f"{prefix}last_modify_time"])


NAME_TYPE = String(200).with_variant(String(200, collation="C"), "postgresql")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: For the tables whose rows nearly every ingestion batch rewrites (a service's latest
#: job, a customer's summary of its services): half of each page left free, so that a
#: row's new version fits beside the old one and PostgreSQL updates it in place ("HOT":
#: no new entry in any index), where a full page moved it and added an entry to each
#: index. About a tenth of PostgreSQL's CPU in ingestion, for tables of a row per
#: service and per customer (migration 0021_room_for_updates, docs/scaling.md).
ROOM_FOR_UPDATES: dict[str, Any] = {"postgresql_with": {"fillfactor": "50"}}

partners = Table(
    "partners",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    # The tenant owner id of the customer: unique across partners.
    Column("id", Uuid, nullable=False, unique=True),
    # Byte order on both databases, whatever the PostgreSQL server's locale: customer
    # lists are ordered by name, and the order must not depend on the backend.
    Column("name", NAME_TYPE, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # A random tag, new whenever one of the customer's backup services (its latest job)
    # changes: a reader that holds this revision's services holds the current ones
    # (see backupjobs.readmodel).
    Column("services_revision", BigInteger, nullable=False, server_default="0"),
    # The vendor's customer profile (SPEC §5 "Customers"): "" when unknown.
    Column("owner_email", String(254), nullable=False, server_default=""),
    Column("country_or_region", String(100), nullable=False, server_default=""),
    # catalog.MANAGEMENT_MODES; 2 ("To be configured") until an operator says otherwise.
    Column("management_mode", Integer, nullable=False, server_default="2"),
    # Its tenants, as the vendor lists them: a JSON array of {"id", "name"} (read with
    # the row, written whole by an operator; directory.tenants_json).
    Column("tenants", Text, nullable=False, server_default="[]"),
    # Its enabled services' latest jobs, summed up whenever they change (as the revision):
    # what its jobStatus depends on but for the time (model.health.ServicesSummary), so
    # that a customers page reads no service.
    Column("services_enabled", Integer, nullable=False, server_default="0"),
    Column("services_ran", Integer, nullable=False, server_default="0"),
    Column("services_problems", Integer, nullable=False, server_default="0"),
    Column("services_oldest_change", UtcDateTime),
    # The same services' figures a summary shows (SPEC §10.3) but for the stale ones
    # (they depend on the time), kept with them so that a summary of every customer reads
    # no other service: how many have a failed latest job, the sum of their latest jobs'
    # sizes, the latest last success.
    Column("services_failing", Integer, nullable=False, server_default="0"),
    Column("services_backup_size_bytes", BigInteger, nullable=False, server_default="0"),
    Column("services_last_success", UtcDateTime),
    # When each of those services that ran last succeeded (or, never, was first seen), in
    # order: a summary counts the stale ones at its time from here, no service row read.
    Column("services_since", Moments),
    PrimaryKeyConstraint("partner_id", "id"),
    ForeignKeyConstraint(["partner_id"], ["partners.id"]),
    Index(None, "partner_id", "name", "id"),
    **ROOM_FOR_UPDATES,
)


def _job_columns(prefix: str = "") -> list[Column[Any]]:
    """A job's reported fields; ``backup_services`` holds them as its latest job."""
    required = not prefix
    return [
        Column(f"{prefix}job_id", String(128), nullable=not required),
        Column(f"{prefix}status", Integer, nullable=not required),
        Column(f"{prefix}name", String(512)),
        Column(f"{prefix}total_count", BigInteger),
        Column(f"{prefix}failed_count", BigInteger),
        Column(f"{prefix}successful_count", BigInteger),
        Column(f"{prefix}skipped_count", BigInteger),
        Column(f"{prefix}warning_count", BigInteger),
        Column(f"{prefix}backup_size_bytes", BigInteger),
        Column(f"{prefix}start_time", UtcDateTime),
        Column(f"{prefix}end_time", UtcDateTime),
        Column(f"{prefix}last_modify_time", UtcDateTime, nullable=not required),
    ]


#: Prefix of the latest job's columns in ``backup_services``.
LATEST = "latest_"
#: A job's reported fields, named as in ``jobs`` (and, prefixed, in ``backup_services``).
JOB_FIELDS = tuple(column.name for column in _job_columns())
#: A backup service's key within its partner, named as in ``backup_services`` and ``jobs``.
SERVICE_KEY = ("customer_id", "job_type", "job_module")

backup_services = Table(
    "backup_services",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("job_type", Integer, nullable=False),
    Column("job_module", Integer, nullable=False),
    Column("enabled_at", UtcDateTime, nullable=False),
    # Set by an operator: the service leaves the job pages, its history stays.
    Column("disabled_at", UtcDateTime),
    *_job_columns(LATEST),
    # Kept by ingestion and retention from the history (store/outcomes.py): the latest
    # successful job's endTime (its startTime if it has none), and how many of the latest
    # jobs in a row failed.
    Column("last_success_time", UtcDateTime),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("partner_id", "customer_id", "job_type", "job_module"),
    ForeignKeyConstraint(["partner_id", "customer_id"], ["customers.partner_id", "customers.id"]),
    **ROOM_FOR_UPDATES,
)

jobs = Table(
    "jobs",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("job_type", Integer, nullable=False),
    Column("job_module", Integer, nullable=False),
    *_job_columns(),
    Column("recorded_at", UtcDateTime, nullable=False),
    # A jobId is unique per partner: ingestion upserts on it. No foreign key to the job's
    # service: ingestion writes a job only in the transaction that upserts its service,
    # and a check row by row cost a sixth of PostgreSQL's time in ingestion (migration
    # 0020_jobs_keyed_by_job_id).
    PrimaryKeyConstraint("partner_id", "job_id"),
    # A service's runs, newest first: recomputing its latest job, and history.
    Index(None, "partner_id", "customer_id", "job_type", "job_module", "start_time"),
)

#: A job's sort time (SPEC §4): its start, or its last change while it has not started.
JOB_SORT_TIME = sort_time(jobs.c)
# The history (/api/v1/jobs), newest first across a partner's customers, by keyset.
Index("ix_jobs_history", jobs.c.partner_id, JOB_SORT_TIME, jobs.c.job_id)

# Outcomes per backup service and quarter-hour of sort time (UTC), by status: what
# /api/v1/summary and /daily add up, kept by ingestion and retention (store/outcomes.py).
# ``quarter`` counts quarter-hours since 1970-01-01T00:00Z.
job_outcomes = Table(
    "job_outcomes",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("quarter", BigInteger, nullable=False),
    Column("job_type", Integer, nullable=False),
    Column("job_module", Integer, nullable=False),
    Column("status", Integer, nullable=False),
    Column("jobs", BigInteger, nullable=False),
    Column("backup_size_bytes", BigInteger, nullable=False),
    # Whole seconds of the jobs that have both a start and an end time.
    Column("duration_seconds", BigInteger, nullable=False),
    PrimaryKeyConstraint(
        "partner_id", "customer_id", "quarter", "job_type", "job_module", "status"
    ),
    # Some quarter-hours of every customer at once (a summary's ends): one index range.
    Index(None, "partner_id", "quarter"),
)

#: The statuses counted apart in ``customer_days`` and ``customer_blocks``: every job
#: status (catalog.STATUSES), each a column ``jobs_<code>``.
COUNTED_STATUSES = tuple(range(15))


def _outcome_columns() -> list[Column[Any]]:
    """A customer's jobs over some UTC days: in all, by status, their bytes and seconds."""
    return [
        Column("jobs", BigInteger, nullable=False),
        # Integers, whose sums PostgreSQL adds up faster than those of bigints.
        *(Column(f"jobs_{status}", Integer, nullable=False) for status in COUNTED_STATUSES),
        Column("backup_size_bytes", BigInteger, nullable=False),
        Column("duration_seconds", BigInteger, nullable=False),
    ]


def _customer_outcomes(name: str, unit: str) -> Table:
    """A table of each customer's outcomes per ``unit`` of UTC days (days, blocks, long
    blocks: a number since 1970-01-01): a row per customer and unit, indexed by partner and
    unit for a window's units of every customer at once (one index range)."""
    return Table(
        name,
        metadata,
        Column("partner_id", Uuid, nullable=False),
        Column("customer_id", Uuid, nullable=False),
        Column(unit, BigInteger, nullable=False),
        *_outcome_columns(),
        PrimaryKeyConstraint("partner_id", "customer_id", unit),
        Index(None, "partner_id", unit),
    )


# The outcomes per customer and UTC day (days since 1970-01-01), the jobs of each status
# a column: what job_outcomes holds for the customer's services in the day's 96
# quarter-hours, added up (store/outcomes.py). The summary and /daily read whole UTC days
# here, a row per customer and day.
customer_days = _customer_outcomes("customer_days", "day")

# The same per customer and block of BLOCK_DAYS UTC days (days since 1970-01-01 // 4):
# what customer_days holds on the block's days, added up (store/outcomes.py). A summary
# reads a window's whole blocks here and only the days at its ends from customer_days.
customer_blocks = _customer_outcomes("customer_blocks", "block")

# The same per customer and long block of LONG_BLOCK_DAYS (16) UTC days, 4 blocks (days
# since 1970-01-01 // 16): what customer_blocks holds on its blocks, added up. A summary
# reads a window's whole long blocks here, its other whole blocks from customer_blocks:
# 30 days in about 7 rows per customer where blocks alone took about 10.
customer_long_blocks = _customer_outcomes("customer_long_blocks", "long_block")

apps = Table(
    "apps",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    # Granted permissions, space-separated as in an OAuth2 scope.
    Column("permissions", Text, nullable=False),
    # True: every customer of the partner; False: only those in app_customers.
    Column("all_customers", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("partner_id", "client_id"),
    ForeignKeyConstraint(["partner_id"], ["partners.id"]),
)

app_customers = Table(
    "app_customers",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("client_id", String(64), nullable=False),
    PrimaryKeyConstraint("partner_id", "customer_id", "client_id"),
    ForeignKeyConstraint(["partner_id", "customer_id"], ["customers.partner_id", "customers.id"]),
    ForeignKeyConstraint(["partner_id", "client_id"], ["apps.partner_id", "apps.client_id"]),
)

app_secrets = Table(
    "app_secrets",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("id", String(32), nullable=False, unique=True),
    # SHA-256 of the secret: secrets are 256 random bits, so a slow hash adds nothing.
    Column("secret_hash", LargeBinary(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    PrimaryKeyConstraint("partner_id", "client_id", "id"),
    ForeignKeyConstraint(["partner_id", "client_id"], ["apps.partner_id", "apps.client_id"]),
    Index(None, "client_id"),
)

app_certificates = Table(
    "app_certificates",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("client_id", String(64), nullable=False),
    # SHA-1 of the DER certificate in upper-case hex, as Windows and Azure show it; an
    # identifier only: assertions are checked against the public key, never the thumbprint.
    Column("thumbprint", String(40), nullable=False),
    Column("thumbprint_sha256", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    # "RSA 2048", "EC P-256": says which assertion algorithms the key can verify.
    Column("key_type", String(32), nullable=False),
    # The certificate alone (public); the private key never leaves the partner.
    Column("certificate_pem", Text, nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("not_after", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    PrimaryKeyConstraint("partner_id", "client_id", "thumbprint"),
    ForeignKeyConstraint(["partner_id", "client_id"], ["apps.partner_id", "apps.client_id"]),
    Index(None, "client_id"),
)

# The jti of every client assertion accepted and not yet expired: a second use is a replay.
# Kept in the database, which every API process shares whatever the deployment.
assertion_jtis = Table(
    "assertion_jtis",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("jti", String(255), nullable=False),
    # The assertion's exp plus the tolerated clock skew: after that it cannot be replayed.
    Column("expires_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("partner_id", "client_id", "jti"),
    ForeignKeyConstraint(["partner_id", "client_id"], ["apps.partner_id", "apps.client_id"]),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("private_key_pem", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Signs new tokens from this time on (a rotated-in key is published before it signs).
    Column("signs_from", UtcDateTime, nullable=False),
    # Stops signing at this time; verifies until ``verifies_until``, then leaves the JWKS.
    Column("retired_at", UtcDateTime),
    Column("verifies_until", UtcDateTime),
)

# Secrets of this deployment, made once by the first process that needs one and shared by
# every process through the database (the cursors' signing key): never sent to a client.
instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("secret", LargeBinary(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Upstream sync (issue 19): a vendor tenant mirrored into a partner. The credential is
# named by file paths, read at each run; the secret itself is never stored.
sync_upstreams = Table(
    "sync_upstreams",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("name", String(100), nullable=False),
    Column("base_url", Text, nullable=False),
    Column("token_url", Text, nullable=False),
    Column("client_id", String(200), nullable=False),
    # Either a secret file, or a certificate and a private key file.
    Column("secret_file", Text),
    Column("cert_file", Text),
    Column("key_file", Text),
    Column("interval_seconds", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # The lease: who runs it now, and until when unless renewed (one process at a time).
    Column("lease_owner", String(200)),
    Column("lease_until", UtcDateTime),
    PrimaryKeyConstraint("partner_id", "name"),
    ForeignKeyConstraint(["partner_id"], ["partners.id"]),
)

# One run of an upstream, and what it did.
sync_runs = Table(
    "sync_runs",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("upstream", String(100), nullable=False),
    Column("id", Uuid, nullable=False, unique=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    # running, succeeded, partial (some customers failed), failed, interrupted.
    Column("status", String(16), nullable=False),
    Column("customers", Integer, nullable=False, server_default="0"),
    Column("rows_read", Integer, nullable=False, server_default="0"),
    Column("jobs_new", Integer, nullable=False, server_default="0"),
    Column("jobs_updated", Integer, nullable=False, server_default="0"),
    Column("errors", Integer, nullable=False, server_default="0"),
    Column("requests", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("partner_id", "upstream", "started_at", "id"),
    ForeignKeyConstraint(
        ["partner_id", "upstream"], ["sync_upstreams.partner_id", "sync_upstreams.name"]
    ),
)

# What went wrong in a run: a customer's read (customer_id), or the run's own.
sync_errors = Table(
    "sync_errors",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("run_id", Uuid, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("customer_id", Uuid),
    Column("at", UtcDateTime, nullable=False),
    Column("message", Text, nullable=False),
    PrimaryKeyConstraint("partner_id", "run_id", "seq"),
    ForeignKeyConstraint(["run_id"], ["sync_runs.id"]),
)

# The customers an upstream has listed: seen when, and gone since when (not deleted).
sync_customers = Table(
    "sync_customers",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("upstream", String(100), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("gone_at", UtcDateTime),
    PrimaryKeyConstraint("partner_id", "upstream", "customer_id"),
    ForeignKeyConstraint(
        ["partner_id", "upstream"], ["sync_upstreams.partner_id", "sync_upstreams.name"]
    ),
)

# Alerts (SPEC §10.5). No foreign key to customers or apps: offboarding a customer or
# deleting an app must not be blocked by its alerts; delivery checks the tenant scope
# of the subscription's app at send time, so what is gone is simply not sent.

# A partner's webhook endpoint, made by one of its apps (``client_id``), whose tenant
# scope bounds the customers it hears of.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("url", Text, nullable=False),
    # The event types it wants, one bit each (backupjobs.store.webhooks.EVENT_BITS).
    Column("event_mask", Integer, nullable=False),
    # True: every customer the app may see; False: those in webhook_customers.
    Column("all_customers", Boolean, nullable=False),
    Column("stale_after_seconds", BigInteger, nullable=False),
    Column("format", String(16), nullable=False),
    Column("description", String(500), nullable=False, server_default=""),
    Column("enabled", Boolean, nullable=False),
    # Why it was disabled by the service (a 410 answer); null when enabled or by request.
    Column("disabled_reason", Text),
    # Signing secrets, encrypted (AES-GCM) with the deployment's webhook key: they must
    # be recoverable to sign. The previous one signs too until previous_secret_until.
    Column("secret", LargeBinary(128), nullable=False),
    Column("previous_secret", LargeBinary(128)),
    Column("previous_secret_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("partner_id", "id"),
    ForeignKeyConstraint(["partner_id"], ["partners.id"]),
)

webhook_customers = Table(
    "webhook_customers",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("subscription_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    PrimaryKeyConstraint("partner_id", "subscription_id", "customer_id"),
    ForeignKeyConstraint(
        ["partner_id", "subscription_id"],
        ["webhook_subscriptions.partner_id", "webhook_subscriptions.id"],
        ondelete="CASCADE",
    ),
)

# A service's problem, from its first failure or staleness to its recovery. At most one
# open per service (the partial unique index).
alert_incidents = Table(
    "alert_incidents",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("job_type", Integer, nullable=False),
    Column("job_module", Integer, nullable=False),
    # "failed" or "stale": what opened it.
    Column("cause", String(16), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    PrimaryKeyConstraint("partner_id", "customer_id", "id"),
    Index(
        "ix_alert_incidents_open",
        "partner_id",
        "customer_id",
        "job_type",
        "job_module",
        unique=True,
        sqlite_where=text("closed_at IS NULL"),
        postgresql_where=text("closed_at IS NULL"),
    ),
)

# The outbox: events written in the transaction of their cause. ``event_key`` makes an
# event once per cause (a job and type; an incident and type) however often it recurs.
alert_events = Table(
    "alert_events",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("event_key", String(200), nullable=False),
    Column("type", String(32), nullable=False),
    # Null for a ping; set for the others.
    Column("customer_id", Uuid),
    Column("job_type", Integer),
    Column("job_module", Integer),
    Column("incident_id", Uuid),
    # The job record as it was (JSON of the ingested record), or null.
    Column("job", Text),
    # service.stale: the threshold passed (only subscriptions with it hear of it).
    Column("stale_after_seconds", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("partner_id", "id"),
    ForeignKeyConstraint(["partner_id"], ["partners.id"]),
    Index(None, "partner_id", "event_key", unique=True),
    # An incident's events (stale detection asks whether one was sent). Led by the
    # incident: led by the partner, it was the index PostgreSQL chose to look up event
    # keys in while the table's statistics were those of an empty one (migration 0023).
    Index(None, "incident_id", "partner_id"),
)

# One event to one subscription: its state and schedule.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False),
    Column("subscription_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    # pending, delivered, failed, or skipped (no longer for this subscription).
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    # When a process may next try it: the due time, or while one tries, its lease's end.
    Column("next_attempt_at", UtcDateTime, nullable=False),
    # The claim of the process trying it now: its outcome counts only with this token.
    Column("claim", Uuid),
    Column("last_response_status", Integer),
    Column("last_error", Text),
    Column("delivered_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("partner_id", "id"),
    ForeignKeyConstraint(
        ["partner_id", "subscription_id"],
        ["webhook_subscriptions.partner_id", "webhook_subscriptions.id"],
        ondelete="CASCADE",
    ),
    # A subscription's deliveries, newest first (its delivery log).
    Index(None, "partner_id", "subscription_id", "created_at", "id"),
    # What is due: the pending deliveries by due time. Only those: a delivery leaves the
    # index when it is delivered, failed or skipped (no entry written for that version),
    # and the index stays the size of the queue, not of every delivery ever made.
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("delivery_id", Uuid, nullable=False),
    Column("number", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("response_status", Integer),
    Column("error", Text),
    # The answer's first bytes (RESPONSE_EXCERPT_BYTES), as text.
    Column("response_excerpt", Text),
    # No foreign key to its delivery: an attempt is written only by the process whose
    # claim just updated that delivery (``finish_attempts``), and the two deletes of
    # deliveries remove their attempts. PostgreSQL checked the key row by row with a
    # plan cached per connection, made when the table was small: a sequential scan of
    # every delivery for each attempt, until the next ANALYZE (1.5 s of its CPU in
    # ``bench.alerts``' ingestion round, 2026-12-05).
    PrimaryKeyConstraint("partner_id", "delivery_id", "number"),
)

# People of a partner who sign in to the dashboard (``backupjobs users``). An email names
# one user in the whole deployment: the sign-in form asks for nothing else.
dashboard_users = Table(
    "dashboard_users",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("id", Uuid, nullable=False, unique=True),
    # Lower-cased: the address is matched without regard to case.
    Column("email", String(320), nullable=False, unique=True),
    # "viewer" or "admin" (admins also manage webhooks).
    Column("role", String(16), nullable=False),
    # Argon2id, in its PHC string form (algorithm, parameters and salt included).
    Column("password_hash", String(255), nullable=False),
    # Set for a one-time password (create, reset-password): changed at the next sign-in.
    Column("must_change_password", Boolean, nullable=False),
    Column("disabled_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("partner_id", "id"),
    ForeignKeyConstraint(["partner_id"], ["partners.id"]),
)

# Signed-in browsers: server-side, so that every process sees them and a sign-out, a
# disabled user or a new password ends them at once. Holds the SHA-256 of the cookie's
# token, never the token.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("partner_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    # Moved forward by requests (at most once a minute); 8 idle hours after it, it is over.
    Column("last_seen_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("partner_id", "user_id", "token_hash"),
    ForeignKeyConstraint(
        ["partner_id", "user_id"], ["dashboard_users.partner_id", "dashboard_users.id"]
    ),
)
