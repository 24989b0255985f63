"""Idempotency-Key for unsafe requests (IETF draft semantics).

Same key and payload → the stored response; same key, other payload → 422; the first request
still running → 409. A successful write stores its response in the same transaction as the
booking change (see cowork.actions.bookings), so a crash can never leave one without the other.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sanic import HTTPResponse, Request
from sanic.response import json as json_response

from cowork.domain.problems import Problem
from cowork.http.auth import require_user
from cowork.http.context import services
from cowork.http.problems import PROBLEM_TYPE, as_problem, problem_body
from cowork.store import idempotency as keys
from cowork.store.db import db

Handler = Callable[..., Awaitable[HTTPResponse]]
MAX_KEY_LENGTH = 255


def _request_hash(request: Request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.body or b""):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


async def _claim(request: Request, user_id: int, key: str) -> int | HTTPResponse:
    """The key's record id, or the response it already gave (replayed)."""
    node = services(request)
    claimed = await keys.claim(
        user_id,
        key,
        _request_hash(request),
        now=node.clock.now(),
        ttl=timedelta(seconds=node.settings.idempotency_ttl_seconds),
        lease=timedelta(seconds=node.settings.idempotency_lease_seconds),
    )
    if isinstance(claimed, int):
        return claimed
    content_type = PROBLEM_TYPE if claimed.status >= 400 else "application/json"
    headers = {"Idempotent-Replayed": "true"}
    return json_response(
        claimed.body, status=claimed.status, content_type=content_type, headers=headers
    )


async def _settle_error(record_id: int, exc: BaseException) -> None:
    """Keep a final refusal (4xx) as the key's answer; forget the key after a transient one."""
    refusal = as_problem(exc)
    if refusal is None or refusal.status >= 500:
        await keys.forget(record_id)
        return
    await keys.store_response(db(), record_id, refusal.status, problem_body(refusal))


def idempotent(handler: Handler) -> Handler:
    """Honour an optional Idempotency-Key; the handler finds the record id in request.ctx."""

    @functools.wraps(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        request.ctx.idempotency_id = None
        key = request.headers.get("idempotency-key")
        if key is None:
            return await handler(request, *args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise Problem.INVALID_IDEMPOTENCY_KEY.error(
                f"The key must be 1 to {MAX_KEY_LENGTH} printable characters."
            )
        principal = require_user(request)
        claimed = await _claim(request, principal.user_id, key)
        if isinstance(claimed, HTTPResponse):
            return claimed
        request.ctx.idempotency_id = claimed
        try:
            return await handler(request, *args, **kwargs)
        except asyncio.CancelledError:
            # The client went away; the actor may still commit (and store the response in
            # the same transaction), so the key stays claimed for the retry to find.
            raise
        except Exception as exc:
            await _settle_error(claimed, exc)
            raise

    return wrapper
