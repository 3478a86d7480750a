"""A reporting world: partner A with three customers and a varied history, an app scoped
to one of them, and partner B; shared by the reports' tests."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.world import Tenant, add_app, ingest, job, make_tenant

NOW = datetime.now(UTC).replace(microsecond=0)


def run(customer, job_id, hours_ago, *, status=2, module=304, name="Nightly", **fields):
    """A job that started ``hours_ago`` and ran 30 minutes (unless running)."""
    start = NOW - timedelta(hours=hours_ago)
    end = None if status == 1 else start + timedelta(minutes=30)
    return job(
        customer,
        job_id,
        status=status,
        jobModule=module,
        name=name,
        startTime=start.isoformat(),
        endTime=end.isoformat() if end else None,
        lastModifyTime=(end or start).isoformat(),
        **fields,
    )


@dataclass
class World:
    a: Tenant
    scoped: Tenant
    b: Tenant
    records: list[dict[str, Any]]


async def make_world(client, db) -> World:
    a = await make_tenant(db, customers=3, names=["Alpha", "Bravo", "Charlie"])
    alpha, bravo, charlie = a.customers
    records = [
        # Alpha: SharePoint fine daily, Groups failing three times in a row.
        *(
            run(alpha, f"A-sp-{d}", 24 * d + 2, module=302, name=f"SharePoint {d}")
            for d in range(5)
        ),
        run(alpha, "A-gr-4", 24 * 4 + 3, status=2),
        *(run(alpha, f"A-gr-{d}", 24 * d + 3, status=3, name="=HYPERLINK(1)") for d in range(3)),
        run(alpha, "A-gr-3", 24 * 3 + 3, status=7),
        # Bravo: quiet for three days (last success 72 h ago), then a warning.
        run(bravo, "B-gr-1", 80, status=2),
        run(bravo, "B-gr-0", 72, status=4, name="Groups, weekly"),
        # Charlie: recovering (failed, then finished), and one job still running.
        run(charlie, "C-gr-1", 26, status=3),
        run(charlie, "C-gr-0", 2, status=2),
        run(charlie, "C-ex-0", 1, status=1, module=303, name="Exchange"),
    ]
    await ingest(client, a, records)
    scoped = await add_app(db, a, app_customers=[0])
    b = await make_tenant(db, customers=1, names=["Other partner's"])
    await ingest(client, b, [run(b.customers[0], "X-1", 1, status=3)])
    return World(a, scoped, b, records)
