"""The lists' one shape: items, nextCursor and a Link to the next page; a cursor used with
other filters, or altered, is a 400 problem naming the cursor."""

from typing import Annotated, Any

import httpx
import pytest
from litestar import Litestar, Request, Response, get
from litestar.params import Parameter

from backupjobs.api.listing import Cursor, CursorPaging, ItemPage, Limit
from backupjobs.api.problems import EXCEPTION_HANDLERS
from backupjobs.infra.cursors import binding

PUBLIC = "https://backup.example.com"
TOTAL = 5


@pytest.fixture
async def client(db):
    paging = CursorPaging(PUBLIC)
    await paging.load(db)

    @get("/items")
    async def items(
        request: Request[Any, Any, Any],
        q: Annotated[str | None, Parameter()] = None,
        limit: Limit = 2,
        cursor: Cursor = None,
    ) -> Response[ItemPage[int]]:
        bound = binding("items", {"q": q})
        start = paging.position(cursor, binding=bound, type=tuple[int])
        first = 0 if start is None else start[0] + 1
        values = list(range(first, min(first + limit, TOTAL)))
        more = first + limit < TOTAL
        return paging.answer(request, values, [values[-1]] if more else None, binding=bound)

    app = Litestar([items], exception_handlers=EXCEPTION_HANDLERS)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC) as http:
        yield http


async def test_following_the_links_walks_the_whole_list(client):
    url, seen, pages = "/items?q=x&limit=2", [], 0
    while url:
        answer = await client.get(url)
        assert answer.status_code == 200
        body = answer.json()
        seen += body["items"]
        pages += 1
        link = answer.headers.get("link")
        assert (link is None) == (body["nextCursor"] is None)
        url = link[1 : link.index(">")] if link else None
        if url:
            assert url.startswith(f"{PUBLIC}/items?") and "q=x" in url and "limit=2" in url
            assert url.count("cursor=") == 1
            assert 'rel="next"' in link
    assert seen == list(range(TOTAL))
    assert pages == 3


async def test_a_cursor_with_other_filters_is_a_400_naming_the_cursor(client):
    first = (await client.get("/items?q=x")).json()
    answer = await client.get("/items", params={"q": "y", "cursor": first["nextCursor"]})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert "cursor" in answer.json()["detail"]


async def test_an_altered_cursor_is_a_400(client):
    cursor = (await client.get("/items?q=x")).json()["nextCursor"]
    altered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    answer = await client.get("/items", params={"q": "x", "cursor": altered})
    assert answer.status_code == 400
    assert "Invalid query parameter cursor" in answer.json()["detail"]
