"""RFC 9457 problem+json responses; the only way an error leaves the server."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from sanic import HTTPResponse, Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import json as json_response

from cowork.actors.base import ActorStoppedError, MailboxFullError
from cowork.domain.errors import DomainError

log = logging.getLogger("cowork.http")

PROBLEM_TYPE = "application/problem+json"


class ApiError(Exception):
    """An HTTP-level refusal raised by the web layer (input, auth, limits)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail or title
        self.headers = headers or {}
        self.extra = extra


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> HTTPResponse:
    body: dict[str, Any] = {
        "type": f"https://cowork.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.path
        request_id = getattr(request.ctx, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update(extra)
    return json_response(body, status=status, headers=headers, content_type=PROBLEM_TYPE)


_SANIC_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    429: "too_many_requests",
    503: "service_unavailable",
}


def install_error_handlers(app: Sanic) -> None:
    @app.exception(ApiError)
    async def api_error(request: Request, exc: ApiError) -> HTTPResponse:
        return problem(
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            request=request,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> HTTPResponse:
        extra: dict[str, Any] = dict(exc.extra)
        return problem(exc.status, exc.code, exc.title, exc.detail, request=request, **extra)

    @app.exception(MailboxFullError)
    async def busy(request: Request, exc: MailboxFullError) -> HTTPResponse:
        return problem(
            503,
            "space_busy",
            "Space busy",
            "Too many requests are queued for this space; retry shortly.",
            request=request,
            headers={"Retry-After": "1"},
        )

    @app.exception(ActorStoppedError)
    async def stopped(request: Request, exc: ActorStoppedError) -> HTTPResponse:
        return problem(
            503,
            "node_unavailable",
            "Temporarily unavailable",
            "This node is restarting or draining; retry.",
            request=request,
            headers={"Retry-After": "1"},
        )

    @app.exception(SanicException)
    async def sanic_error(request: Request, exc: SanicException) -> HTTPResponse:
        status = exc.status_code or 500
        if status >= 500:
            return _internal(request, exc)
        code = _SANIC_CODES.get(status, "http_error")
        title = code.replace("_", " ").capitalize()
        return problem(
            status, code, title, str(exc) or title, request=request, headers=dict(exc.headers or {})
        )

    @app.exception(Exception)
    async def unexpected(request: Request, exc: Exception) -> HTTPResponse:
        if _out_of_range(exc):
            return problem(
                400,
                "invalid_parameter",
                "Invalid parameter",
                "A parameter is outside the range the server accepts.",
                request=request,
            )
        return _internal(request, exc)


def _out_of_range(exc: BaseException) -> bool:
    """asyncpg refuses to encode an argument (e.g. an id beyond int4): the client's input."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, asyncpg.exceptions.DataError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _internal(request: Request, exc: BaseException) -> HTTPResponse:
    request_id = getattr(request.ctx, "request_id", "-")
    log.error(
        "unhandled error on %s %s (request %s)",
        request.method,
        request.path,
        request_id,
        exc_info=exc,
    )
    return problem(
        500,
        "internal_error",
        "Internal server error",
        "The server could not complete the request; it has been logged.",
        request=request,
    )
