"""The blocking and the async client have the same calls, with the same parameters: each
endpoint is declared once, as a plan, and both clients carry it out."""

import inspect

import pytest

from backupjobs.sdk import (
    V3,
    AsyncModern,
    AsyncReports,
    AsyncV3,
    AsyncWebhooks,
    Modern,
    Reports,
    Webhooks,
)

PARTS = [(V3, AsyncV3), (Modern, AsyncModern), (Reports, AsyncReports), (Webhooks, AsyncWebhooks)]


def calls(part):
    return {name: inspect.signature(getattr(part, name)) for name in dir(part) if name[0] != "_"}


@pytest.mark.parametrize(("blocking", "awaited"), PARTS, ids=lambda part: part.__name__)
def test_the_async_part_has_the_blocking_parts_calls_and_parameters(blocking, awaited):
    assert calls(awaited) == calls(blocking)
    for name in calls(blocking):
        method = getattr(awaited, name)
        assert method.__name__ == name
        assert method.__doc__


def test_a_call_shows_its_own_parameters_not_its_plans():
    parameters = inspect.signature(V3.customers).parameters
    assert list(parameters) == ["self", "customer_ids", "page_size"]
