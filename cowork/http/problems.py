"""RFC 9457 problem+json responses: the only way an error leaves the server.

Every refusal is a `DomainError` carrying a catalogued `Problem` (cowork.domain.problems);
framework and driver errors are mapped onto the same catalogue here.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from sanic import HTTPResponse, Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import json as json_response

from cowork.actors.base import ActorCrashedError, ActorStoppedError, MailboxFullError
from cowork.domain.problems import DomainError, Problem

log = logging.getLogger("cowork.http")

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://cowork.dev/problems/"


def problem_body(error: DomainError, request: Request | None = None) -> dict[str, Any]:
    """The problem+json document of one refusal (also what an idempotent replay returns)."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
    }
    if request is not None:
        body["instance"] = request.path
        request_id = getattr(request.ctx, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update(error.extra)
    return body


def problem_response(error: DomainError, request: Request | None = None) -> HTTPResponse:
    headers = dict(error.headers)
    if error.problem.retry_after is not None:
        headers.setdefault("Retry-After", str(error.problem.retry_after))
    return json_response(
        problem_body(error, request),
        status=error.status,
        headers=headers,
        content_type=PROBLEM_TYPE,
    )


_SANIC_PROBLEMS = {
    400: Problem.BAD_REQUEST,
    401: Problem.UNAUTHORIZED,
    403: Problem.FORBIDDEN,
    404: Problem.NOT_FOUND,
    405: Problem.METHOD_NOT_ALLOWED,
    408: Problem.REQUEST_TIMEOUT,
    413: Problem.PAYLOAD_TOO_LARGE,
    415: Problem.UNSUPPORTED_MEDIA_TYPE,
    416: Problem.RANGE_NOT_SATISFIABLE,
    429: Problem.TOO_MANY_REQUESTS,
    503: Problem.SERVICE_UNAVAILABLE,
}


def as_problem(exc: BaseException) -> DomainError | None:
    """The catalogued refusal an exception stands for; None for a bug (a 500)."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, MailboxFullError):
        return Problem.SPACE_BUSY.error()
    if isinstance(exc, ActorStoppedError):
        return Problem.NODE_UNAVAILABLE.error()
    if _unreachable(exc.cause if isinstance(exc, ActorCrashedError) else exc):
        return Problem.DATABASE_UNAVAILABLE.error()
    if isinstance(exc, ActorCrashedError) and _out_of_range(exc.cause):
        return Problem.INVALID_PARAMETER.error()  # a value the database cannot hold
    if isinstance(exc, SanicException) and (exc.status_code or 500) < 500:
        problem = _SANIC_PROBLEMS.get(exc.status_code, Problem.HTTP_ERROR)
        if exc.status_code == 413 and "header" in str(exc).lower():
            problem = Problem.HEADERS_TOO_LARGE  # Sanic says 413 for an oversized request head
        return problem.error(str(exc) or None, headers=dict(exc.headers or {}))
    if _out_of_range(exc):
        return Problem.INVALID_PARAMETER.error()
    return None


def install_error_handlers(app: Sanic) -> None:
    @app.exception(Exception)
    async def refuse(request: Request, exc: Exception) -> HTTPResponse:
        error = as_problem(exc)
        if error is None:
            return _internal(request, exc)
        if error.status == 405:
            error.headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(error, request)


def _unreachable(exc: BaseException | None) -> bool:
    """The database went away (connection lost, refused or timed out): worth a retry.

    Anywhere, not only in an actor: an idempotency claim, an actor's start or a read meets
    the same outage; the driver's error may be wrapped (Tortoise), so the chain is searched.
    """
    seen = exc
    while seen is not None:
        if isinstance(
            seen,
            OSError
            | TimeoutError
            | asyncpg.PostgresConnectionError
            | asyncpg.InterfaceError
            | asyncpg.CannotConnectNowError
            | asyncpg.AdminShutdownError
            | asyncpg.TooManyConnectionsError,
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods the requested path answers (the router alone says, whatever its grouping)."""
    allowed = []
    for method in _METHODS:
        try:
            request.app.router.get(request.path, method, request.headers.get("host"))
        except SanicException:
            continue
        allowed.append(method)
    return allowed


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
    return problem_response(Problem.INTERNAL_ERROR.error(), request)
