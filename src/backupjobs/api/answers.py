"""Answers of the busiest endpoints (the job pages), which encode their JSON themselves.

Litestar's way from a returned object to the bytes on the wire costs more than the rest
of a job page request; these handlers encode with msgspec (rows already encoded, see
``backupjobs.readmodel.pages``) and return a :class:`JsonAnswer`. The bytes are the same.

>>> # @post(..., responses={200: ok_response(V3JobPage), **problem_responses(...)})
>>> # async def handler(...) -> ASGIResponse:
>>> #     return JsonAnswer(encoder.encode(page))
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.openapi.datastructures import ResponseSpec
from litestar.response.base import ASGIResponse


class JsonAnswer(ASGIResponse):
    """A 200 answer with a JSON body, as ``ASGIResponse(body=..., media_type=JSON)``
    makes it, without the general case's header bookkeeping."""

    def __init__(
        self,
        body: bytes,
        *,
        media_type: bytes = b"application/json",
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self.headers = MutableScopeHeaders(
            {
                "headers": [
                    (b"content-type", media_type),
                    (b"content-length", str(len(body)).encode("ascii")),
                    *headers,
                ]
            }
        )
        self.background = None
        self.body = body
        self.content_length = len(body)
        self._encoded_cookies = ()
        self.encoding = "utf-8"
        self.is_head_response = False
        self.status_code = 200


def ok_response(body: type[Any]) -> ResponseSpec:
    """The OpenAPI entry of a 200 answer whose handler returns a :class:`JsonAnswer`."""
    return ResponseSpec(
        data_container=body, description=HTTPStatus.OK.description, generate_examples=False
    )
