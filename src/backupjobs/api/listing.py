"""The lists of ``/api/v1``: one shape, one way to page, for every list.

``{"items": [...], "nextCursor": "..." | null}``, the next page's address also in a
``Link: <...>; rel="next"`` header. Paging is by keyset (:mod:`backupjobs.store.keyset`)
with the position in a cursor signed by the deployment's key and bound to the list's
filters and app (:mod:`backupjobs.infra.cursors`): a cursor used elsewhere is a 400.

>>> # async def history(request, context: AppContext, limit: Limit = 100,
>>> #                   cursor: Cursor = None) -> Response[ItemPage[V1Job]]:
>>> #     bound = binding("jobs", {"app": principal.client_id, "status": statuses})
>>> #     position = context.cursors.position(cursor, binding=bound, type=tuple[datetime, str])
>>> #     rows, more = ... keyset_select(..., position, limit=limit) ...
>>> #     return context.cursors.answer(request, items, last_key if more else None, binding=bound)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response
from litestar.params import Parameter

from backupjobs.api.problems import ProblemError
from backupjobs.infra.cursors import MAX_CURSOR_LENGTH, CursorCodec, InvalidCursorError
from backupjobs.store.database import Database
from backupjobs.store.instance import CURSOR_KEY, instance_secret

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
CURSOR = "cursor"

Limit = Annotated[
    int,
    Parameter(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}."),
]
Cursor = Annotated[
    str | None,
    Parameter(
        max_length=MAX_CURSOR_LENGTH,
        # What CursorCodec makes (unpadded base64url): anything else is refused anyway.
        pattern=r"^[A-Za-z0-9_-]+$",
        description=(
            "Where the page starts: the `nextCursor` of the previous page, with the same "
            "filters. Absent: the first page."
        ),
    ),
]


class ItemPage(msgspec.Struct, Generic[T]):
    """A page of a list; ``nextCursor`` is null on the last page."""

    items: list[T]
    nextCursor: str | None


class CursorPaging:
    """Reads the position from a request's cursor and answers a page with the next one.

    The key is the deployment's (``instance_secrets``), the same in every process:
    :meth:`load` it once at start-up.
    """

    def __init__(self, public_url: str) -> None:
        self._public_url = public_url
        self._codec: CursorCodec | None = None

    async def load(self, db: Database) -> None:
        self._codec = CursorCodec(await instance_secret(db, CURSOR_KEY))

    @property
    def codec(self) -> CursorCodec:
        if self._codec is None:
            raise RuntimeError("CursorPaging.load() was not awaited at start-up")
        return self._codec

    def position(self, cursor: str | None, *, binding: bytes, type: type[T]) -> T | None:
        """The position ``cursor`` holds (None: the first page), or a 400 problem."""
        if cursor is None:
            return None
        try:
            return self.codec.decode(cursor, binding=binding, type=type)
        except InvalidCursorError as error:
            raise ProblemError(
                400,
                f"Invalid query parameter cursor: {error}. A cursor is valid only with the "
                "filters of the page that gave it; ask for the first page again without one.",
            ) from None

    def answer(
        self,
        request: Request[Any, Any, Any],
        items: list[T],
        next_position: Sequence[Any] | None,
        *,
        binding: bytes,
    ) -> Response[ItemPage[T]]:
        """The page, with a cursor and a ``Link`` to the next one if ``next_position``."""
        if next_position is None:
            return Response(ItemPage(items, None))
        cursor = self.codec.encode(next_position, binding=binding)
        return Response(
            ItemPage(items, cursor),
            headers={"Link": f'<{self.next_url(request, cursor)}>; rel="next"'},
        )

    def next_url(self, request: Request[Any, Any, Any], cursor: str) -> str:
        """The request's address at this service's public URL, its cursor replaced."""
        query = [
            (name, value) for name, value in request.query_params.multi_items() if name != CURSOR
        ]
        query.append((CURSOR, cursor))
        return f"{self._public_url}{request.url.path}?{urlencode(query)}"
