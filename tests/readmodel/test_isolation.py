"""The read model answers a page from memory only while nothing that decided its tenant
scope may have changed: every table the tenant-scope rule reads (found from the rule's
SQLAlchemy expression, not listed by hand) must tell the change feed when a row of it is
updated, deleted or truncated, so that a change of the rule cannot silently serve pages
a scope no longer allows."""

import pytest
from sqlalchemy import ColumnElement, String, Table, Uuid, and_, bindparam, exists, text
from sqlalchemy.sql.util import find_tables

from backupjobs.readmodel.changes import CHANNEL
from backupjobs.store.schema import customers, partners
from backupjobs.store.scope import SCOPE_PARAMETERS, ScopeConditions
from backupjobs.store.services import SERVICES_REVISION

pytestmark = pytest.mark.postgresql_only

# pg_trigger.tgtype bits (PostgreSQL's catalog/pg_trigger.h).
_ROW, _DELETE, _UPDATE, _TRUNCATE = 1, 8, 16, 32
#: What may take a customer out of a scope: each needs a statement-level trigger.
REVOKING = {"UPDATE": _UPDATE, "DELETE": _DELETE, "TRUNCATE": _TRUNCATE}


def scope_rule(conditions: ScopeConditions) -> ColumnElement[bool]:
    return conditions.allows(customers.c.partner_id, customers.c.id)


def tables_read(expression) -> set[str]:
    """The tables an expression reads, its subqueries' included."""
    found = find_tables(expression, check_columns=True, include_selects=True)
    return {table.name for table in found if isinstance(table, Table)}


async def untold(db, tables: set[str]) -> dict[str, set[str]]:
    """Of ``tables``, those lacking a change-feed trigger on any event that may revoke a
    scope, with the events it lacks (a change-feed trigger: its function notifies the
    feed's channel)."""
    async with db.read() as connection:
        rows = await connection.execute(
            text(
                "SELECT c.relname, t.tgtype FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND p.prosrc LIKE :channel"
            ),
            {"channel": f"%pg_notify('{CHANNEL}'%"},
        )
        covered: dict[str, int] = {}
        for table, kind in rows:
            if not kind & _ROW:  # statement level: fired however many rows change
                covered[table] = covered.get(table, 0) | kind
    missing = {
        table: {event for event, bit in REVOKING.items() if not covered.get(table, 0) & bit}
        for table in tables
    }
    return {table: events for table, events in missing.items() if events}


def parameters():
    return {name: bindparam(name, type_=kind) for name, kind in SCOPE_PARAMETERS.items()}


async def test_every_table_the_tenant_scope_reads_tells_the_change_feed(db):
    rule = tables_read(scope_rule(ScopeConditions.over(parameters())))
    assert {"customers", "apps", "app_customers"} <= rule  # found, not listed
    assert await untold(db, rule) == {}
    # The revision lookup, whose answer the feed keeps, reads nothing else.
    assert tables_read(SERVICES_REVISION.statement) == rule


async def test_a_scope_rule_reading_a_table_without_a_trigger_fails_the_check(db):
    conditions = ScopeConditions(bindparam("partner", type_=Uuid()), bindparam("client", String()))
    # A rule that also asked the partner's row, say whether it is suspended:
    wider = and_(
        scope_rule(conditions),
        exists().where(partners.c.id == customers.c.partner_id, partners.c.name != ""),
    )
    rule = tables_read(wider)
    assert "partners" in rule
    assert await untold(db, rule) == {"partners": set(REVOKING)}
