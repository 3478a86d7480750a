"""``$metadata`` validated against the OASIS CSDL XML schemas (vendored in csdl_xsd/)."""

from pathlib import Path

import pytest
from lxml import etree

from backupjobs.api.odata import CSDL

SCHEMAS = Path(__file__).parent / "csdl_xsd"


@pytest.fixture(scope="module")
def edmx_schema():
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "edmx.xsd")))


def test_the_modern_metadata_is_valid_csdl(edmx_schema):
    document = etree.fromstring(CSDL)
    edmx_schema.assertValid(document)


async def test_the_served_metadata_is_the_valid_document(client, edmx_schema):
    response = await client.get("/partner/$metadata")
    assert response.status_code == 200
    edmx_schema.assertValid(etree.fromstring(response.content))


def test_the_schemas_catch_what_is_not_csdl(edmx_schema):
    # A capability record with a misspelt element: the check is not vacuous.
    broken = CSDL.replace(b"<PropertyValue ", b"<PropertyValu ", 1)
    assert not edmx_schema.validate(etree.fromstring(broken))
