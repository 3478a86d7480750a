async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reaches_the_database(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_metrics_count_requests_by_route_and_status(client):
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert (
        'backupjobs_http_requests_total{method="GET",route="/healthz",status="200"}'
        in response.text
    )
    assert "backupjobs_http_request_duration_seconds_bucket" in response.text
    assert (
        "backupjobs_jobs_ingested_total" in response.text
        or "backupjobs_jobs_ingested" in response.text
    )


async def test_unknown_path_is_a_problem(client):
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["title"] == "Not Found" and body["type"] == "about:blank"


async def test_wrong_method_is_a_problem(client):
    response = await client.get("/api/v1/ingest/jobs")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


async def test_openapi_documents_every_endpoint_with_errors(client):
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    jobs = paths["/partner/external/v3/general/customers/{customer_id}/jobs"]["post"]
    assert {"400", "401", "403", "404"} <= set(jobs["responses"])
    assert "application/problem+json" in jobs["responses"]["404"]["content"]
    assert "requestBody" in jobs
    for path in [
        "/partner/external/v3/general/customers/{customer_id}/avpt-products/jobs/batch",
        "/partner/external/v3/general/customers/batch",
        "/api/v1/ingest/jobs",
        "/connect/token",
        "/.well-known/jwks.json",
        "/healthz",
        "/readyz",
        "/metrics",
    ]:
        assert path in paths


async def test_interactive_docs_are_served(client):
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
