"""The job page's own request path (token hook, body reading, its own JSON answer) keeps
the contract: the checks in the same order, bodies however framed, the same bytes."""

import json

from tests.world import ingest, job, make_tenant, v3_jobs_path


async def test_no_token_is_a_401_before_any_parameter_is_read(client, db):
    tenant = await make_tenant(db)
    path = v3_jobs_path(tenant.customers[0])
    for query, body in [("?pageIndex=0", b""), ("?pageSize=500", b"[1]"), ("", b"{bad")]:
        response = await client.post(path + query, content=body)
        assert response.status_code == 401, (query, body)
        assert response.headers["www-authenticate"].startswith("Bearer")
    headers = await tenant.headers(client)
    response = await client.post(path + "?pageIndex=0", headers=headers)
    assert response.status_code == 400
    assert "pageIndex" in response.json()["detail"]


async def test_a_token_without_the_permission_is_a_403(client, db):
    tenant = await make_tenant(db, permissions=frozenset({"elements.customers.read.all"}))
    response = await client.post(
        v3_jobs_path(tenant.customers[0]), headers=await tenant.headers(client)
    )
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_filters_are_read_however_the_body_is_framed(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, "groups"), job(c, "gmail", jobType=11, jobModule=501)])
    headers = await tenant.headers(client)

    async def chunked():
        yield b'{"jobType"'
        yield b": 11}"

    for body in (b'{"jobType": 11}', chunked()):
        response = await client.post(v3_jobs_path(c), content=body, headers=headers)
        assert [row["jobId"] for row in response.json()["data"]] == ["gmail"]
    for empty in (b"", b"   "):
        response = await client.post(v3_jobs_path(c), content=empty, headers=headers)
        assert response.json()["metadata"]["totalCount"] == 2


async def test_the_answer_is_the_json_litestar_would_write(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, "J1"), job(c, "J2", jobModule=302)])
    response = await client.post(
        v3_jobs_path(c) + "?pageSize=1&pageIndex=2", headers=await tenant.headers(client)
    )
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    body = response.json()
    assert response.content == json.dumps(body, separators=(",", ":")).encode()
    assert body["metadata"] == {"pageIndex": 2, "pageSize": 1, "totalCount": 2}
    assert [row["jobId"] for row in body["data"]] == ["J1"]
