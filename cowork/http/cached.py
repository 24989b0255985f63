"""Encoded reads as responses: ETag on every one, 304 when the client already has it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from sanic import HTTPResponse, Request

from cowork.http.context import services

Handler = Callable[..., Awaitable[HTTPResponse]]


def encoded(request: Request, body: bytes, etag: str) -> HTTPResponse:
    """200 with `body`, or 304 when If-None-Match names `etag`."""
    headers = {"etag": etag, "cache-control": "no-cache"}
    if _matches(request.headers.get("if-none-match"), etag):
        return HTTPResponse(status=304, headers=headers)
    return HTTPResponse(body, content_type="application/json", headers=headers)


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = (t.strip().removeprefix("W/") for t in header.split(","))
    return any(t == etag or t == "*" for t in tags)


def cached_read(*, timeless: bool = False) -> Callable[[Handler], Handler]:
    """Serve a public database read from the node's ReadCache (cowork.realtime.changes).

    `timeless`: only an edit can change the answer, never the clock (a space's description,
    not the floor), so it may be kept longer; any change the node hears of still ends it.
    """

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def run(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            cache = services(request).reads
            key = request.path + "?" + request.query_string
            hit = cache.get(key)
            if hit is None:
                response = await handler(request, *args, **kwargs)
                if response.status != 200 or response.body is None:
                    return response
                hit = cache.put(key, response.body, timeless=timeless)
            return encoded(request, hit.body, hit.etag)

        return run

    return decorate
