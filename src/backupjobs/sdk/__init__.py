"""A typed Python client for the v3 and Modern partner jobs APIs, over HTTP only.

>>> from backupjobs.sdk import Client, ClientSecret
>>> # with Client("https://backup.example.com", ClientSecret(CLIENT_ID, CLIENT_SECRET)) as client:
>>> #     for customer in client.v3.customers():
>>> #         for job in client.v3.jobs(customer.id):
>>> #             if job.status.name == "Failed":
>>> #                 print(customer.organization, job.job_type, job.job_module, job.start_time)

- :class:`Client` and :class:`AsyncClient` (same surface, ``await`` and ``async for``),
  on httpx; ``client.v3`` and ``client.modern`` for the two generations, and
  ``client.reports`` for this product's own (history, services' health, summaries,
  export).
- :class:`ClientSecret` or :class:`ClientCertificate` (an RFC 7523 assertion signed here);
  the token URL may be on another host than the API (``token_url=``).
- Tokens are kept and replaced before they expire; a 401 gets one new token and one more
  try. 429, 503 and network failures are retried as :class:`Retry` says, honouring
  ``Retry-After``.
- Rows are :class:`Job` and :class:`Customer` records: integers, UTC datetimes, bytes,
  timedeltas, ``None`` for ``"N/A"``, :class:`Coded` job types, modules and statuses.
- ``client.webhooks``: alert subscriptions and deliveries (:class:`Webhooks`); a
  receiver checks what it gets with :class:`WebhookVerifier` (Standard Webhooks).
- Errors are :class:`BackupJobsError` subclasses carrying the problem+json
  (:class:`ProblemError`) or the OAuth error (:class:`OAuthError`).

It imports no server code: it works against backupjobs or any wire-compatible service.
Guide: ``docs/sdk.md``.
"""

from backupjobs.sdk.client import (
    V3,
    AsyncClient,
    AsyncModern,
    AsyncPaginator,
    AsyncReports,
    AsyncV3,
    AsyncWebhooks,
    Client,
    Modern,
    Paginator,
    Reports,
    Webhooks,
)
from backupjobs.sdk.credentials import ClientCertificate, ClientSecret, Credential
from backupjobs.sdk.endpoints import CodeOrName
from backupjobs.sdk.errors import (
    AuthenticationError,
    BackupJobsError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    OAuthError,
    PermissionDeniedError,
    ProblemError,
    RateLimitedError,
    ResponseError,
    ServerError,
    ServiceUnavailableError,
    UnreachableError,
    WireFormatError,
)
from backupjobs.sdk.parsing import parse_duration, parse_size, parse_time
from backupjobs.sdk.profiles import Profile, load_profile
from backupjobs.sdk.records import Coded, Customer, Job, Page, Tenant
from backupjobs.sdk.reports import (
    CustomerSummary,
    DailyOutcome,
    HistoryJob,
    ServiceHealth,
    Summary,
    SummaryTotals,
)
from backupjobs.sdk.retry import Retry
from backupjobs.sdk.tokens import AccessToken, TokenCache
from backupjobs.sdk.webhooks import WebhookVerificationError, WebhookVerifier

__all__ = [
    "V3",
    "AccessToken",
    "AsyncClient",
    "AsyncModern",
    "AsyncPaginator",
    "AsyncReports",
    "AsyncV3",
    "AsyncWebhooks",
    "AuthenticationError",
    "BackupJobsError",
    "BadRequestError",
    "Client",
    "ClientCertificate",
    "ClientSecret",
    "CodeOrName",
    "Coded",
    "ConfigurationError",
    "Credential",
    "Customer",
    "CustomerSummary",
    "DailyOutcome",
    "HistoryJob",
    "Job",
    "Modern",
    "NotFoundError",
    "OAuthError",
    "Page",
    "Paginator",
    "PermissionDeniedError",
    "ProblemError",
    "Profile",
    "RateLimitedError",
    "Reports",
    "ResponseError",
    "Retry",
    "ServerError",
    "ServiceHealth",
    "ServiceUnavailableError",
    "Summary",
    "SummaryTotals",
    "Tenant",
    "TokenCache",
    "UnreachableError",
    "WebhookVerificationError",
    "WebhookVerifier",
    "Webhooks",
    "WireFormatError",
    "load_profile",
    "parse_duration",
    "parse_size",
    "parse_time",
]
