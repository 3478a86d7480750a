"""The partner's world on a real server, shared by the SDK tests that only read it."""

import pytest

from tests.sdk.partner import partner_world


@pytest.fixture(scope="package")
def world(tmp_path_factory):
    with partner_world(tmp_path_factory.mktemp("sdk")) as built:
        yield built
