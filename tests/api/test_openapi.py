"""The OpenAPI document says what the token endpoint, ingestion and the codes are."""

import re

from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES
from backupjobs.model.durations import parse_duration


async def _document(client) -> dict:
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    document: dict = response.json()
    return document


async def test_the_token_endpoint_documents_its_form_token_and_errors(client):
    operation = (await _document(client))["paths"]["/connect/token"]["post"]
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    fields = {name for shape in form["oneOf"] for name in shape["properties"]}
    assert fields == {
        "grant_type", "client_id", "client_secret", "scope",
        "client_assertion_type", "client_assertion",
    }  # fmt: skip
    responses = operation["responses"]
    token = responses["200"]["content"]["application/json"]["schema"]
    assert set(token["required"]) == {"access_token", "token_type", "expires_in", "scope"}
    errors = {
        status: responses[status]["content"]["application/json"]["schema"]["properties"]["error"][
            "enum"
        ]
        for status in ("400", "401")
    }
    assert errors == {
        "400": ["invalid_request", "unsupported_grant_type", "invalid_scope"],
        "401": ["invalid_client"],
    }
    assert "WWW-Authenticate" in responses["401"]["headers"]
    assert "429" in responses


async def test_codes_are_enums_named_in_their_descriptions(client):
    document = await _document(client)
    ingest = document["paths"]["/api/v1/ingest/jobs"]["post"]
    body = ingest["requestBody"]["content"]["application/json"]["schema"]
    record = body["items"]["anyOf"][0]
    assert "backupSizeBytes" in record["properties"] and record["additionalProperties"] is False
    for field, table in (("jobType", JOB_TYPES), ("jobModule", JOB_MODULES), ("status", STATUSES)):
        by_code = record["properties"][field]["anyOf"][0]
        assert by_code["enum"] == [entry.code for entry in table]
        assert all(f"{entry.code} {entry.display}" in by_code["description"] for entry in table)
    assert {"415", "413", "400"} <= set(ingest["responses"])
    assert ingest["requestBody"]["required"] is True
    v3 = document["paths"]["/partner/external/v3/general/customers/{customer_id}/jobs"]["post"]
    assert {p["name"] for p in v3["parameters"] if p["in"] == "query"} == {"pageIndex", "pageSize"}
    filters = v3["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert filters["jobType"]["enum"] == [entry.code for entry in JOB_TYPES] + [None]
    modern = document["paths"][
        "/partner/customers/{customer_id}/jobs/jobType/{job_type}/jobModule/{job_module}"
    ]["get"]
    module = next(p for p in modern["parameters"] if p["name"] == "job_module")
    assert "SharePoint Online" in module["schema"]["enum"] and "309" in module["schema"]["enum"]
    assert "Archiver" not in module["schema"]["enum"]  # a name of two codes picks neither


REPORT_FILTERS = {
    "/api/v1/jobs": {"customerId", "jobType", "jobModule", "status", "startedFrom",
                     "startedTo", "q", "limit", "cursor"},
    "/api/v1/jobs/export": {"customerId", "jobType", "jobModule", "status", "startedFrom",
                            "startedTo", "q", "format"},
    "/api/v1/services": {"customerId", "jobType", "jobModule", "health", "staleAfter",
                         "limit", "cursor"},
    "/api/v1/summary": {"customerId", "from", "to", "tz", "staleAfter", "limit", "cursor"},
    "/api/v1/daily": {"customerId", "jobType", "jobModule", "from", "to", "tz", "limit",
                      "cursor"},
}  # fmt: skip


async def test_each_report_lists_exactly_its_filters_typed(client):
    document = await _document(client)
    for path, expected in REPORT_FILTERS.items():
        parameters = {p["name"]: p["schema"] for p in document["paths"][path]["get"]["parameters"]}
        assert set(parameters) - {"Authorization"} == expected, path
        if "customerId" in parameters:
            customer = parameters["customerId"]
            assert customer["type"] == "array"
            assert customer["items"] == {"type": "string", "format": "uuid"}
        for name, table in (("jobType", JOB_TYPES), ("jobModule", JOB_MODULES),
                            ("status", STATUSES)):  # fmt: skip
            if name not in parameters:
                continue
            assert parameters[name]["type"] == "array"
            by_code, by_name = parameters[name]["items"]["anyOf"]
            assert by_code == {"type": "integer", "enum": [entry.code for entry in table]}
            assert by_name["type"] == "string"
            assert {entry.display for entry in table if table.find(entry.display)} <= set(
                by_name["enum"]
            )
            assert all(table.find(name) is not None for name in by_name["enum"])
        for name in ("startedFrom", "startedTo", "from", "to"):
            if name in parameters:
                assert parameters[name]["type"] == "string"
                assert parameters[name]["anyOf"] == [{"format": "date-time"}, {"format": "date"}]
        # Query values are never null (the cursor's schema is the listing's own).
        assert all("oneOf" not in parameters[name] for name in expected - {"cursor"}), path
    daily = {p["name"]: p for p in document["paths"]["/api/v1/daily"]["get"]["parameters"]}
    assert daily["tz"]["schema"]["type"] == "string"
    assert daily["tz"]["schema"]["examples"] == ["Europe/Berlin"]
    assert "IANA" in daily["tz"]["description"]
    export = {p["name"]: p for p in document["paths"]["/api/v1/jobs/export"]["get"]["parameters"]}
    assert export["format"]["schema"]["enum"] == ["csv", "ndjson"]
    services = {p["name"]: p for p in document["paths"]["/api/v1/services"]["get"]["parameters"]}
    assert services["health"]["schema"]["items"]["enum"][0] == "failing"
    duration = re.compile(services["staleAfter"]["schema"]["pattern"])
    for taken in ("PT36H", "P2D", "P1W", "PT0.5S", "P1DT2H30M", "PT90M"):
        assert duration.match(taken) and parse_duration(taken), taken
    for refused in ("P", "PT", "P1Y", "36 hours", "P1DT"):
        assert not duration.match(refused), refused
