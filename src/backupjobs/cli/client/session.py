"""Signing in and reading through the SDK: errors as exit statuses, progress on stderr.

Every command runs its work with :func:`run`, which turns SDK errors into one line on
stderr: exit 2 for the configuration, 1 for what the service answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar
from uuid import UUID

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from backupjobs.cli.client.options import Api
from backupjobs.cli.common import errors, fail
from backupjobs.sdk import (
    AsyncClient,
    AsyncModern,
    AsyncPaginator,
    AsyncV3,
    BackupJobsError,
    ConfigurationError,
    Customer,
    Job,
    OAuthError,
    ProblemError,
    load_profile,
)

T = TypeVar("T")

#: Requests in flight at once when a command reads every customer's jobs.
CONCURRENCY = 8


@contextmanager
def reported() -> Iterator[None]:
    """SDK errors as one line on stderr: exit 2 for configuration, 1 for the service."""
    try:
        yield
    except ConfigurationError as error:
        raise fail(str(error), 2) from None
    except OAuthError as error:
        raise fail(f"the token endpoint refused: {error}") from None
    except ProblemError as error:
        raise fail(f"{error.status} {error.title}: {error.detail}") from None
    except BackupJobsError as error:
        raise fail(str(error)) from None


@asynccontextmanager
async def connected(profile: str | None) -> AsyncIterator[AsyncClient]:
    async with AsyncClient.from_profile(load_profile(profile)) as partner:
        yield partner


def run(work: Coroutine[Any, Any, T]) -> T:
    with reported():
        try:
            return asyncio.run(work)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


def generation(partner: AsyncClient, api: Api) -> AsyncV3 | AsyncModern:
    return partner.v3 if api is Api.v3 else partner.modern


@contextmanager
def progress(description: str) -> Iterator[Progress]:
    """A progress bar on stderr, shown only on a terminal."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    )
    with bar:
        bar.add_task(description, total=None)
        yield bar


async def every_page(listing: AsyncPaginator[T], description: str) -> list[T]:
    """Every item of a listing, page by page, counted on a progress bar."""
    found: list[T] = []
    with progress(description) as bar:
        async for page in listing.pages():
            found.extend(page.items)
            bar.update(bar.task_ids[0], completed=len(found), total=page.total)
    return found


async def all_customers(api: AsyncV3 | AsyncModern) -> list[Customer]:
    return await every_page(api.customers(), "customers")


async def chosen_customers(api: AsyncV3 | AsyncModern, wanted: Sequence[str]) -> list[Customer]:
    """Every customer the app sees, or those named by id or name (an error if one is not)."""
    customers = await all_customers(api)
    if not wanted:
        return customers
    return [find_customer(customers, name) for name in wanted]


def find_customer(customers: Sequence[Customer], wanted: str) -> Customer:
    """The customer ``wanted`` names: its id (any case), else its name, the start of its
    name or a part of it (any case), the first of these that names one customer alone.

    An exact name wins over a longer one that starts with it; several customers at the
    first that matches is an error listing them; none is an error that says so.
    """
    text = " ".join(wanted.split())
    folded = text.casefold()
    by_id = [c for c in customers if c.id.casefold() == folded]
    if by_id:
        return by_id[0]
    names = [(" ".join((c.name or "").split()).casefold(), c) for c in customers]
    for rule, matches in (
        ("named", [c for name, c in names if name == folded]),
        ("whose name starts with", [c for name, c in names if folded and name.startswith(folded)]),
        ("whose name contains", [c for name, c in names if folded and folded in name]),
    ):
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = "; ".join(f"{c.name} ({c.id})" for c in matches)
            raise fail(
                f"{len(matches)} customers {rule} {text!r}: {listed}; give more of the name, "
                "or the id",
                2,
            )
    raise fail(f"no customer {text!r} visible to this app (by id, or by name or part of it)", 2)


async def customer_id(api: AsyncV3 | AsyncModern, wanted: str) -> str:
    """A customer's id as given, or the id of the one customer so named."""
    try:
        UUID(wanted)
    except ValueError:
        return find_customer(await all_customers(api), wanted).id
    return wanted


async def jobs_of(
    api: AsyncV3 | AsyncModern,
    customers: Sequence[Customer],
    *,
    job_type: int | None = None,
    job_module: int | None = None,
) -> list[tuple[Customer, list[Job]]]:
    """Each customer's services, CONCURRENCY customers at a time, in the customers' order."""
    limit = asyncio.Semaphore(CONCURRENCY)
    with progress("customers' jobs") as bar:
        task = bar.task_ids[0]
        bar.update(task, total=len(customers))

        async def one(customer: Customer) -> tuple[Customer, list[Job]]:
            async with limit:
                listing = api.jobs(customer.id, job_type=job_type, job_module=job_module)
                found = [job async for job in listing]
            bar.advance(task)
            return customer, found

        return list(await asyncio.gather(*(one(customer) for customer in customers)))
