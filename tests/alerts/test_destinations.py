"""Which destinations webhooks may go to (SSRF): refused when creating a subscription in
the default deployment, and again at connection time, whatever DNS answers then."""

import pytest

from backupjobs.alerts.destinations import (
    Destination,
    DestinationError,
    endpoint_of,
    resolve_destination,
)
from tests.alerts.hooks import WEBHOOKS
from tests.world import make_tenant


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_private_destinations_are_refused(client, db, url):
    """The default deployment (BACKUPJOBS_WEBHOOK_ALLOW_PRIVATE unset)."""
    tenant = await make_tenant(db)
    response = await client.post(
        WEBHOOKS, json={"url": url, "events": ["job.failed"]}, headers=await tenant.headers(client)
    )
    assert response.status_code == 400, response.text
    assert "public addresses only" in response.json()["detail"]
    made = await client.get(WEBHOOKS, headers=await tenant.headers(client))
    assert made.json()["items"] == []


async def test_a_hostname_is_judged_by_every_address_it_resolves_to():
    with pytest.raises(DestinationError, match="a loopback address"):
        await resolve_destination("https://localhost/hook", allow_private=False)
    allowed = await resolve_destination("http://localhost:8080/hook", allow_private=True)
    assert allowed.address in {"127.0.0.1", "::1"}
    with pytest.raises(DestinationError, match="does not resolve"):
        await resolve_destination("https://no-such-host.invalid/hook", allow_private=True)
    for url in ("ftp://example.com/", "https://user:pw@example.com/", "http:///x"):
        with pytest.raises(DestinationError):
            await resolve_destination(url, allow_private=True)


def test_the_address_checked_is_the_address_connected_to():
    endpoint = endpoint_of(
        Destination("https://psa.example.com:8443/hook?x=1", "psa.example.com", "93.184.215.14")
    )
    assert (endpoint.address, endpoint.port, endpoint.target) == (
        "93.184.215.14",
        8443,
        "/hook?x=1",
    )
    assert endpoint.host_header == "psa.example.com:8443"
    # TLS still names (and checks the certificate of) the host asked for.
    assert (endpoint.scheme, endpoint.server_name) == ("https", "psa.example.com")
    endpoint = endpoint_of(Destination("http://h.example", "h.example", "2001:db8::1"))
    assert (endpoint.address, endpoint.port, endpoint.target) == ("2001:db8::1", 80, "/")
