"""The demo's and ``simulate``'s customers name their tenants by GUIDs, as the vendor's API
does (SPEC §5), drawn from the seed: the same on every run."""

import random
import uuid
from datetime import UTC, datetime

from backupjobs.cli import demo
from backupjobs.simulation import customer_history

NOW = datetime(2025, 9, 11, 12, tzinfo=UTC)


def tenant_ids(customers):
    return [tenant.id for customer in customers for tenant in customer.profile.tenants]


def is_uuid(text):
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def test_the_demo_customers_tenants_are_named_by_the_same_uuids_each_time():
    ids = tenant_ids(demo._tenants(random.Random(demo._SEED)))
    assert ids and all(is_uuid(tenant_id) for tenant_id in ids)
    assert ids == tenant_ids(demo._tenants(random.Random(demo._SEED)))


def test_simulated_customers_tenants_are_uuids_for_every_cloud():
    customers = [customer_history(7, index, days=0, now=NOW)[0] for index in range(60)]
    tenants = [tenant for customer in customers for tenant in customer.profile.tenants]
    assert {t.name.endswith(".onmicrosoft.com") for t in tenants} == {True, False}  # both clouds
    assert all(is_uuid(tenant.id) for tenant in tenants)
    again = [customer_history(7, index, days=0, now=NOW)[0] for index in range(60)]
    assert tenant_ids(customers) == tenant_ids(again)
