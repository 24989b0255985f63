"""Password reset rows: made when a member asks, spent (once) when they choose a password."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.store.db import db

_COLUMNS = "id, user_id, nonce, created_at, expires_at, used_at"


@dataclass(frozen=True, slots=True)
class ResetRow:
    id: int
    user_id: int
    nonce: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None

    @classmethod
    def from_record(cls, record: Any) -> ResetRow:
        return cls(**{f.name: record[f.name] for f in fields(cls)})


async def next_id(conn: BaseDBAsyncClient) -> int:
    """The id a new reset will have (its token is derived from it before the insert)."""
    rows = await conn.execute_query_dict(
        "SELECT nextval(pg_get_serial_sequence('password_resets', 'id')) AS id"
    )
    return int(rows[0]["id"])


async def insert(
    conn: BaseDBAsyncClient,
    reset_id: int,
    user_id: int,
    nonce: str,
    token_hash: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute_query(
        "INSERT INTO password_resets (id, user_id, nonce, token_hash, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [reset_id, user_id, nonce, token_hash, created_at, expires_at],
    )


async def get(reset_id: int) -> ResetRow | None:
    rows = await db().execute_query_dict(
        f"SELECT {_COLUMNS} FROM password_resets WHERE id = $1", [reset_id]
    )
    return ResetRow.from_record(rows[0]) if rows else None


async def by_token_hash(token_hash: str) -> ResetRow | None:
    rows = await db().execute_query_dict(
        f"SELECT {_COLUMNS} FROM password_resets WHERE token_hash = $1", [token_hash]
    )
    return ResetRow.from_record(rows[0]) if rows else None


async def spend(conn: BaseDBAsyncClient, reset: ResetRow, now: datetime) -> bool:
    """Use the link, and every other open link of its member; False if another request used
    it first or it expired meanwhile (of two concurrent uses, exactly one wins)."""
    rows = await conn.execute_query_dict(
        "UPDATE password_resets SET used_at = $2 WHERE id = $1 AND used_at IS NULL "
        "AND expires_at > $2 RETURNING id",
        [reset.id, now],
    )
    if not rows:
        return False
    await conn.execute_query(
        "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        [reset.user_id, now],
    )
    return True
