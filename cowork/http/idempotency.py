"""Idempotency-Key for unsafe requests (IETF draft semantics).

Same key and payload → the stored response; same key, other payload → 422; the first request
still running → 409. A successful write stores its response in the same transaction as the
booking change (see the space actor), so a crash can never leave one without the other.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sanic import HTTPResponse, Request
from sanic.response import json as json_response

from cowork.actors.base import ActorStoppedError, MailboxFullError
from cowork.domain.errors import DomainError
from cowork.domain.problems import Problem
from cowork.http.auth import require_user
from cowork.http.problems import problem_body
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
    """Insert the key (→ its id) or answer from what is stored (→ a response)."""
    settings = request.app.ctx.settings
    now = request.app.ctx.clock.now()
    request_hash = _request_hash(request)
    conn = db()
    for _ in range(2):
        inserted = await conn.execute_query_dict(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, expires_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user_id, key, request_hash, now + timedelta(seconds=settings.idempotency_ttl_seconds)],
        )
        if inserted:
            return int(inserted[0]["id"])
        rows = await conn.execute_query_dict(
            "SELECT id, request_hash, response_status, response_body, created_at, expires_at "
            "FROM idempotency_keys WHERE user_id = $1 AND key = $2",
            [user_id, key],
        )
        if not rows:
            continue
        row = rows[0]
        if row["expires_at"] <= now:
            await conn.execute_query("DELETE FROM idempotency_keys WHERE id = $1", [row["id"]])
            continue
        if row["request_hash"] != request_hash:
            raise Problem.IDEMPOTENCY_KEY_REUSED.error(
                "This Idempotency-Key was used with a different request."
            )
        if row["response_status"] is None:
            return await _take_over_abandoned(row, now, settings.idempotency_lease_seconds)
        body = row["response_body"]
        body = json.loads(body) if isinstance(body, str) else body
        status = int(row["response_status"])
        content_type = "application/problem+json" if status >= 400 else "application/json"
        return json_response(
            body, status=status, content_type=content_type, headers={"Idempotent-Replayed": "true"}
        )
    raise Problem.IDEMPOTENCY_KEY_IN_FLIGHT.error(
        "A request with this Idempotency-Key is being processed."
    )


async def _take_over_abandoned(row: dict[str, Any], now: Any, lease_seconds: int) -> int:
    """A request whose node died mid-flight leaves a key without a response; after the lease
    a retry may run it again (the booking itself was then never committed)."""
    taken = await db().execute_query_dict(
        "UPDATE idempotency_keys SET created_at = $2 WHERE id = $1 AND response_status IS NULL "
        "AND created_at < $3 RETURNING id",
        [row["id"], now, now - timedelta(seconds=lease_seconds)],
    )
    if taken:
        return int(taken[0]["id"])
    raise Problem.IDEMPOTENCY_KEY_IN_FLIGHT.error(
        "A request with this Idempotency-Key is being processed; retry later.",
        headers={"Retry-After": "1"},
    )


async def _settle_error(record_id: int, exc: BaseException) -> None:
    """Keep a final refusal (4xx) as the key's answer; forget the key after a transient one."""
    status = getattr(exc, "status", 500)
    transient = isinstance(exc, MailboxFullError | ActorStoppedError) or status >= 500
    if transient or not isinstance(exc, DomainError):
        await db().execute_query("DELETE FROM idempotency_keys WHERE id = $1", [record_id])
        return
    body = problem_body(exc)
    await db().execute_query(
        "UPDATE idempotency_keys SET response_status = $2, response_body = $3::jsonb "
        "WHERE id = $1 AND response_status IS NULL",
        [record_id, status, json.dumps(body, default=str)],
    )


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
