"""Idempotency keys (IETF draft): claim a key, find its stored answer, write that answer once.

The answer of a successful write is stored in the same transaction (often the same statement)
as the write itself, so a crash can never leave one without the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.problems import Problem
from cowork.store.db import db
from cowork.store.sql import Script

# The one statement that records keys' answers (one or many); a key is answered once.
_RESPONSES = (
    "UPDATE idempotency_keys k SET response_status = x.status, response_body = x.body::jsonb "
    "FROM unnest(?::bigint[], ?::int[], ?::text[]) AS x(id, status, body) "
    "WHERE k.id = x.id AND k.response_status IS NULL"
)


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    body: Any


def add_response(script: Script, idem: int | None, status: int, body: dict[str, Any]) -> None:
    """Add the answer of key `idem` (if any) to a statement being built."""
    if idem is not None:
        add_responses(script, [(idem, status, body)])


def add_responses(script: Script, answers: list[tuple[int, int, dict[str, Any]]]) -> None:
    """Add the answers (key id, status, body) of several keys to a statement being built."""
    if answers:
        script.add(
            _RESPONSES,
            [idem for idem, _, _ in answers],
            [status for _, status, _ in answers],
            [json.dumps(body, default=str) for _, _, body in answers],
        )


async def store_response(
    conn: BaseDBAsyncClient, idem: int | None, status: int, body: dict[str, Any]
) -> None:
    """Record the answer of key `idem` (if any) on `conn`, inside the caller's transaction."""
    script = Script()
    add_response(script, idem, status, body)
    if script.parts:
        await script.run(conn)


async def forget(record_id: int) -> None:
    """A transient failure: the key is free for the retry to run the request again.

    Unless the write committed its answer before the error (a connection lost after COMMIT):
    then the retry must get that answer, not run again and meet its own booking as a 409.
    """
    await db().execute_query(
        "DELETE FROM idempotency_keys WHERE id = $1 AND response_status IS NULL", [record_id]
    )


async def claim(
    user_id: int,
    key: str,
    request_hash: str,
    *,
    now: datetime,
    ttl: timedelta,
    lease: timedelta,
) -> int | StoredAnswer:
    """Insert the key (→ its id) or find what it already answered (→ the stored answer)."""
    conn = db()
    for _ in range(2):
        inserted = await conn.execute_query_dict(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, expires_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user_id, key, request_hash, now + ttl],
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
            await forget(row["id"])
            continue
        if row["request_hash"] != request_hash:
            raise Problem.IDEMPOTENCY_KEY_REUSED.error(
                "This Idempotency-Key was used with a different request."
            )
        if row["response_status"] is None:
            return await _take_over_abandoned(row["id"], now, lease)
        body = row["response_body"]
        return StoredAnswer(
            int(row["response_status"]), json.loads(body) if isinstance(body, str) else body
        )
    raise Problem.IDEMPOTENCY_KEY_IN_FLIGHT.error(
        "A request with this Idempotency-Key is being processed."
    )


async def _take_over_abandoned(record_id: int, now: datetime, lease: timedelta) -> int:
    """A request whose node died mid-flight leaves a key without an answer; after the lease
    a retry may run it again (the booking itself was then never committed)."""
    taken = await db().execute_query_dict(
        "UPDATE idempotency_keys SET created_at = $2 WHERE id = $1 AND response_status IS NULL "
        "AND created_at < $3 RETURNING id",
        [record_id, now, now - lease],
    )
    if taken:
        return int(taken[0]["id"])
    raise Problem.IDEMPOTENCY_KEY_IN_FLIGHT.error(
        "A request with this Idempotency-Key is being processed; retry later."
    )
