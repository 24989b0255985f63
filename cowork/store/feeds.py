"""Calendar feeds: the live feed of a member (or of a member and a space), its lookup by token
hash with the owner's rights judged now, and the bookings a feed shows."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.calendar import MAX_EVENTS, SHOWN_STATES
from cowork.store.db import db
from cowork.store.rights import manages_sql


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    user_id: int
    space_id: int | None
    nonce: str
    token_hash: str
    created_at: datetime
    last_fetched_at: datetime | None


@dataclass(frozen=True, slots=True)
class FeedBooking:
    id: int
    status: str
    starts_at: datetime
    ends_at: datetime
    updated_at: datetime
    space_name: str
    location_name: str
    address: str
    city: str
    timezone: str


_COLUMNS = "id, user_id, space_id, nonce, token_hash, created_at, last_fetched_at"
_SAME_FEED = "user_id = $1 AND space_id IS NOT DISTINCT FROM $2 AND revoked_at IS NULL"


def _row(r: dict[str, Any]) -> FeedRow:
    return FeedRow(**{f.name: r[f.name] for f in fields(FeedRow)})


async def live_feed(
    user_id: int, space_id: int | None, conn: BaseDBAsyncClient | None = None
) -> FeedRow | None:
    rows = await (conn or db()).execute_query_dict(
        f"SELECT {_COLUMNS} FROM calendar_feeds WHERE {_SAME_FEED}", [user_id, space_id]
    )
    return _row(rows[0]) if rows else None


async def next_feed_id(conn: BaseDBAsyncClient) -> int:
    rows = await conn.execute_query_dict(
        "SELECT nextval(pg_get_serial_sequence('calendar_feeds', 'id')) AS id"
    )
    return int(rows[0]["id"])


async def insert_feed(
    conn: BaseDBAsyncClient,
    feed_id: int,
    user_id: int,
    space_id: int | None,
    nonce: str,
    token_hash: str,
) -> FeedRow | None:
    """The new live feed; None if another request made one first (one live feed each)."""
    rows = await conn.execute_query_dict(
        "INSERT INTO calendar_feeds (id, user_id, space_id, nonce, token_hash)"
        f" VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
        [feed_id, user_id, space_id, nonce, token_hash],
    )
    return _row(rows[0]) if rows else None


async def revoke(
    conn: BaseDBAsyncClient, user_id: int, space_id: int | None, now: datetime
) -> int | None:
    """Revoke the live feed; its id, or None if there was none."""
    rows = await conn.execute_query_dict(
        f"UPDATE calendar_feeds SET revoked_at = $3 WHERE {_SAME_FEED} RETURNING id",
        [user_id, space_id, now],
    )
    return int(rows[0]["id"]) if rows else None


async def feed_for_token(token_hash: str) -> FeedRow | None:
    """The live feed with this token, if its owner may still read it: active, and for a space
    feed still a manager of the space's location (or an admin)."""
    rows = await db().execute_query_dict(
        f"SELECT {', '.join('f.' + c for c in _COLUMNS.split(', '))} FROM calendar_feeds f"
        " JOIN users u ON u.id = f.user_id LEFT JOIN spaces s ON s.id = f.space_id"
        " WHERE f.token_hash = $1 AND f.revoked_at IS NULL AND u.is_active"
        f" AND (f.space_id IS NULL OR {manages_sql('u', 's.location_id')})",
        [token_hash],
    )
    return _row(rows[0]) if rows else None


async def mark_fetched(feed_id: int, now: datetime) -> None:
    await db().execute_query(
        "UPDATE calendar_feeds SET last_fetched_at = $2 WHERE id = $1", [feed_id, now]
    )


_BOOKINGS = (
    "SELECT b.id, b.status, b.starts_at, b.ends_at, b.updated_at, s.name AS space_name,"
    " l.name AS location_name, l.address, l.city, l.timezone"
    " FROM bookings b JOIN spaces s ON s.id = b.space_id JOIN locations l ON l.id = b.location_id"
    " WHERE b.{column} = $1 AND b.status = ANY($2::text[]) AND b.ends_at >= $3"
    " ORDER BY b.starts_at DESC, b.id DESC LIMIT $4"
)


async def feed_bookings(feed: FeedRow, since: datetime) -> list[FeedBooking]:
    """What the feed shows: the member's bookings, or every booking of the space."""
    column, key = ("space_id", feed.space_id) if feed.space_id else ("user_id", feed.user_id)
    rows = await db().execute_query_dict(
        _BOOKINGS.format(column=column), [key, list(SHOWN_STATES), since, MAX_EVENTS]
    )
    return [FeedBooking(**r) for r in rows]


async def space_title(space_id: int) -> str:
    """`Space · Location`, the name a space's feed shows in calendar apps."""
    rows = await db().execute_query_dict(
        "SELECT s.name AS space, l.name AS location FROM spaces s"
        " JOIN locations l ON l.id = s.location_id WHERE s.id = $1",
        [space_id],
    )
    return f"{rows[0]['space']} · {rows[0]['location']}" if rows else "Space"
