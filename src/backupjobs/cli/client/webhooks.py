"""``backupjobs client webhooks ...``: alert subscriptions and their deliveries.

backupjobs client webhooks create https://psa.example.com/hook --event job.failed
backupjobs client webhooks deliveries WEBHOOK_ID --format json
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import typer

from backupjobs.cli.client.options import FormatOption, ProfileOption
from backupjobs.cli.client.output import Column, Format, emit, time_text
from backupjobs.cli.client.session import connected, run
from backupjobs.sdk import AsyncClient

group = typer.Typer(
    help="Alert webhooks (permission elements.alerts.manage.all): subscriptions, a test "
    "ping, the delivery log, redelivery. Receivers verify deliveries with the SDK's "
    "WebhookVerifier; 'backupjobs webhooks listen' is one for trying it out.",
    no_args_is_help=True,
)

WEBHOOK_COLUMNS = (
    Column("ID", lambda row: row["id"], "dim"),
    Column("URL", lambda row: row["url"], wraps=True),
    Column("Events", lambda row: ", ".join(row["events"]), wraps=True),
    Column(
        "Customers",
        lambda row: "all" if row["customerIds"] is None else str(len(row["customerIds"])),
    ),
    Column("Stale after", lambda row: row["staleAfter"]),
    Column("Format", lambda row: row["format"]),
    Column("Enabled", lambda row: "yes" if row["enabled"] else f"no {row['disabledReason'] or ''}"),
)
DELIVERY_COLUMNS = (
    Column("ID", lambda row: row["id"], "dim"),
    Column("Event", lambda row: row["eventType"]),
    Column("Event ID", lambda row: row["eventId"], "dim"),
    Column("Status", lambda row: row["status"], "bold"),
    Column("Attempts", lambda row: str(row["attempts"])),
    Column("Last answer", lambda row: str(row["lastResponseStatus"] or row["lastError"] or "")),
    Column("Next attempt (UTC)", lambda row: time_text(row["nextAttemptTime"])),
    Column("Delivered (UTC)", lambda row: time_text(row["deliveredTime"])),
)

WebhookArgument = Annotated[str, typer.Argument(help="The webhook's id.", show_default=False)]
DeliveryArgument = Annotated[str, typer.Argument(help="The delivery's id.", show_default=False)]
EventsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--event",
        help="job.failed, job.warning, service.stale or service.recovered (repeatable).",
        show_default=False,
    ),
]
CustomerIdsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--customer", help="A customer id to hear of (repeatable); default all.", show_default=False
    ),
]
StaleAfterOption = Annotated[
    str | None,
    typer.Option("--stale-after", help="ISO 8601 duration, e.g. PT36H.", show_default=False),
]
WebhookFormatOption = Annotated[
    str | None,
    typer.Option("--webhook-format", help="standard, slack or teams.", show_default=False),
]
DescriptionOption = Annotated[
    str | None,
    typer.Option("--description", help="What it is for (shown in lists).", show_default=False),
]


def _one(
    call: Callable[[AsyncClient], Awaitable[dict[str, Any]]],
    profile: str | None,
    columns: tuple[Column, ...],
    output: Format,
) -> None:
    async def work() -> dict[str, Any]:
        async with connected(profile) as partner:
            return await call(partner)

    emit([run(work())], columns, output)


def _many(
    listing: Callable[[AsyncClient], AsyncIterator[dict[str, Any]]],
    profile: str | None,
    columns: tuple[Column, ...],
    output: Format,
) -> None:
    async def work() -> list[dict[str, Any]]:
        async with connected(profile) as partner:
            return [item async for item in listing(partner)]

    emit(run(work()), columns, output)


@group.command("create")
def create(
    url: Annotated[str, typer.Argument(help="Where to post (http or https).", show_default=False)],
    events: EventsOption = None,
    customers: CustomerIdsOption = None,
    stale_after: StaleAfterOption = None,
    webhook_format: WebhookFormatOption = None,
    description: DescriptionOption = None,
    profile: ProfileOption = None,
    output: FormatOption = Format.json,
) -> None:
    """Subscribe a URL; prints the signing secret (shown this once)."""
    _one(
        lambda partner: partner.webhooks.create(
            url,
            events or ["job.failed", "job.warning", "service.stale", "service.recovered"],
            customer_ids=customers or None,
            stale_after=stale_after,
            format=webhook_format,
            description=description,
        ),
        profile,
        (*WEBHOOK_COLUMNS, Column("Secret", lambda row: row["secret"], "bold")),
        output,
    )


@group.command("list")
def list_(profile: ProfileOption = None, output: FormatOption = Format.table) -> None:
    """The partner's webhooks."""
    _many(lambda partner: partner.webhooks.list(), profile, WEBHOOK_COLUMNS, output)


@group.command("show")
def show(
    webhook: WebhookArgument, profile: ProfileOption = None, output: FormatOption = Format.table
) -> None:
    """One webhook."""
    _one(lambda partner: partner.webhooks.get(webhook), profile, WEBHOOK_COLUMNS, output)


@group.command("update")
def update(
    webhook: WebhookArgument,
    url: Annotated[
        str | None, typer.Option("--url", help="A new destination.", show_default=False)
    ] = None,
    events: EventsOption = None,
    customers: CustomerIdsOption = None,
    all_customers: Annotated[
        bool, typer.Option("--all-customers", help="Every customer the app sees.")
    ] = False,
    stale_after: StaleAfterOption = None,
    webhook_format: WebhookFormatOption = None,
    description: DescriptionOption = None,
    enabled: Annotated[
        bool | None,
        typer.Option("--enabled/--disabled", help="Deliver, or stop.", show_default=False),
    ] = None,
    profile: ProfileOption = None,
    output: FormatOption = Format.table,
) -> None:
    """Change what is given."""
    fields: dict[str, Any] = {
        name: value
        for name, value in (
            ("url", url),
            ("events", events or None),
            ("customer_ids", customers or None),
            ("stale_after", stale_after),
            ("format", webhook_format),
            ("description", description),
            ("enabled", enabled),
        )
        if value is not None
    }
    if all_customers:
        fields["customer_ids"] = None
    _one(
        lambda partner: partner.webhooks.update(webhook, **fields), profile, WEBHOOK_COLUMNS, output
    )


@group.command("delete")
def delete(webhook: WebhookArgument, profile: ProfileOption = None) -> None:
    """Delete a webhook and its delivery log."""

    async def work() -> None:
        async with connected(profile) as partner:
            await partner.webhooks.delete(webhook)

    run(work())


@group.command("rotate-secret")
def rotate_secret(
    webhook: WebhookArgument, profile: ProfileOption = None, output: FormatOption = Format.json
) -> None:
    """A new signing secret; the previous one signs beside it for 24 hours."""
    _one(
        lambda partner: partner.webhooks.rotate_secret(webhook),
        profile,
        (
            Column("Secret", lambda row: row["secret"], "bold"),
            Column("Previous until", lambda row: row["previousSecretExpiresAt"]),
        ),
        output,
    )


@group.command("test")
def ping(
    webhook: WebhookArgument, profile: ProfileOption = None, output: FormatOption = Format.table
) -> None:
    """Send a ping event; see its outcome with 'deliveries'."""
    _one(lambda partner: partner.webhooks.test(webhook), profile, DELIVERY_COLUMNS, output)


@group.command("deliveries")
def deliveries(
    webhook: WebhookArgument, profile: ProfileOption = None, output: FormatOption = Format.table
) -> None:
    """A webhook's deliveries, newest first."""
    _many(lambda partner: partner.webhooks.deliveries(webhook), profile, DELIVERY_COLUMNS, output)


@group.command("redeliver")
def redeliver(
    webhook: WebhookArgument,
    delivery: DeliveryArgument,
    profile: ProfileOption = None,
    output: FormatOption = Format.table,
) -> None:
    """Deliver again (same event id), from now."""
    _one(
        lambda partner: partner.webhooks.redeliver(webhook, delivery),
        profile,
        DELIVERY_COLUMNS,
        output,
    )
