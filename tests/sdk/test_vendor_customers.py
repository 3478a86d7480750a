"""The SDK's customers calls against a server that answers the vendor's own sample bodies
(SPEC §5 "Customers"), played by a scripted httpx transport: both generations, paging,
the vendor's one-customer filter."""

import json

from backupjobs.sdk import Coded, Customer, Tenant
from backupjobs.sdk.endpoints import V3_CUSTOMERS
from tests.sdk.test_flows import API, TOKEN, Script, ok
from tests.sdk.test_parsing import VENDOR_MODERN_CUSTOMER, VENDOR_V3_CUSTOMER

SECOND_ID = "9b2f6a1c-0d3e-4f5a-8b7c-6d5e4f3a2b1c"
#: The vendor's sample row, and a second customer as the vendor would list it.
V3_ROWS = [
    VENDOR_V3_CUSTOMER,
    {"id": SECOND_ID, "organization": "OrganizationXYZ", "ownerEmail": "",
     "jobStatus": 6, "countryOrRegion": "", "managementMode": 2, "tenants": []},
]  # fmt: skip
MODERN_ROWS = [
    VENDOR_MODERN_CUSTOMER,
    {"id": SECOND_ID, "organization": "OrganizationXYZ", "ownerEmail": "",
     "jobStatus": "No backup updates", "countryOrRegion": ""},
]  # fmt: skip
MODERN_CONTEXT = "https://graph.avepointonlineservices.com/partner/$metadata#Customers"


def v3_page(request):
    """The vendor's v3 envelope, one row per page (pageSize=1), the body's filter applied."""
    body = json.loads(request.content or b"{}")
    rows = [r for r in V3_ROWS if body.get("customerId") in (None, r["id"])]
    index = int(request.url.params.get("pageIndex", "1"))
    return ok({"data": rows[index - 1 : index],
               "metadata": {"pageIndex": index, "pageSize": 1, "totalCount": len(rows)}})  # fmt: skip


def test_v3_customers_read_the_vendors_rows_page_by_page():
    script = Script(**{"/connect/token": ok(TOKEN), V3_CUSTOMERS: v3_page})
    with script.client() as client:
        listing = client.v3.customers(page_size=1)
        customers = list(listing)
        only = list(client.v3.customers([SECOND_ID], page_size=1))
    assert customers[0] == Customer(
        id=VENDOR_V3_CUSTOMER["id"],
        organization="OrganizationABC",
        owner_email="user@domain.com",
        job_status=Coded(0, "N/A"),
        country_or_region="Afghanistan",
        management_mode=Coded(1, "Partner management of tenant"),
        tenants=(Tenant(VENDOR_V3_CUSTOMER["id"], "Tenant ABC"),),
    )
    assert customers[1].job_status == Coded(6, "No backup updates")
    assert customers[1].management_mode == Coded(2, "To be configured")
    assert (customers[1].owner_email, customers[1].tenants) == (None, ())
    assert listing.total == 2
    assert [c.id for c in only] == [SECOND_ID]
    bodies = [json.loads(r.content) for r in script.seen if r.url.path == V3_CUSTOMERS]
    assert bodies[-1] == {"customerId": SECOND_ID}  # the vendor's own filter


def test_modern_customers_and_one_customer_read_the_vendors_rows():
    entity = {"@odata.context": MODERN_CONTEXT + "/$entity", **MODERN_ROWS[1]}
    script = Script(**{
        "/connect/token": ok(TOKEN),
        "/partner/customers": [
            ok({"@odata.context": MODERN_CONTEXT, "value": MODERN_ROWS[:1],
                "@odata.nextLink": f"{API}/partner/customers?$skip=1"}),
            ok({"@odata.context": MODERN_CONTEXT, "value": MODERN_ROWS[1:]}),
        ],
        f"/partner/customers/{SECOND_ID}": ok(entity),
    })  # fmt: skip
    with script.client() as client:
        customers = list(client.modern.customers())
        one = client.modern.customer(SECOND_ID)
    assert [(c.organization, c.job_status) for c in customers] == [
        ("OrganizationABC", Coded(4, "Multiple issues found")),
        ("OrganizationXYZ", Coded(6, "No backup updates")),
    ]
    assert customers[0].owner_email == "user@domain.com"
    assert (customers[0].management_mode, customers[0].tenants) == (None, None)
    assert one == customers[1]


def test_an_unknown_member_or_a_health_from_a_later_catalog_is_kept():
    later = {**VENDOR_V3_CUSTOMER, "jobStatus": 7, "newField": {"x": 1}}
    script = Script(**{
        "/connect/token": ok(TOKEN),
        V3_CUSTOMERS: ok({"data": [later],
                          "metadata": {"pageIndex": 1, "pageSize": 100, "totalCount": 1}}),
    })  # fmt: skip
    with script.client() as client:
        [customer] = list(client.v3.customers())
    assert customer.job_status == Coded(7, "7")
