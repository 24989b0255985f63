"""What a member already has at a location, counted under a lock per member and location."""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from cowork.domain.quotas import Usage
from cowork.domain.slots import Slot
from cowork.store.occupancy import occupies_sql

# One member's writes at one location run one at a time while quotas are counted: two holds
# racing on two spaces (two actors, maybe two nodes) cannot both slip under a limit.
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('quota:' || $1::int || ':' || $2::int, 0))"

_USAGE = (
    "SELECT"
    " coalesce(sum(extract(epoch FROM b.ends_at - b.starts_at)) FILTER ("
    "   WHERE b.starts_at >= $3 AND b.starts_at < $4"
    f"   AND (b.status = 'completed' OR {occupies_sql('b', '$5')})), 0)::bigint AS week_seconds,"
    " count(*) FILTER (WHERE b.status IN ('held', 'pending_approval')"
    f"   AND {occupies_sql('b', '$5')}) AS holds,"
    f" count(*) FILTER (WHERE b.starts_at > $5 AND {occupies_sql('b', '$5')}) AS ahead"
    " FROM bookings b WHERE b.user_id = $2 AND b.location_id = $1"
    " AND b.ends_at > least($3::timestamptz, $5::timestamptz) AND b.id <> $6"
)


async def usage(
    conn: BaseDBAsyncClient,
    *,
    location_id: int,
    user_id: int,
    week: Slot,
    now: datetime,
    exclude: int | None = None,
) -> Usage:
    """Lock the member at the location for this transaction, then count their bookings."""
    await conn.execute_query(_LOCK, [location_id, user_id])
    rows = await conn.execute_query_dict(
        _USAGE, [location_id, user_id, week.start, week.end, now, exclude or 0]
    )
    r = rows[0]
    return Usage(week_seconds=int(r["week_seconds"]), holds=int(r["holds"]), ahead=int(r["ahead"]))
