"""The deadline timer's view of the bookings table (admin/expiries)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cowork.store.db import db
from cowork.store.occupancy import LIVE_SQL

DEADLINE_KINDS = {
    "held": "hold_expiry",
    "confirmed": "no_show",
    "checked_in": "completion",
    "pending_approval": "approval",
}
OVERDUE_AFTER = timedelta(seconds=60)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def by_kind(now: datetime, limit: int) -> list[dict[str, Any]]:
    """Per kind of deadline: pending, due, overdue, the next one and the next `limit`."""
    summary = {r["status"]: r for r in await deadline_summary(now)}
    kinds: list[dict[str, Any]] = []
    for status, kind in DEADLINE_KINDS.items():
        row = summary.get(status, {})
        kinds.append(
            {
                "kind": kind,
                "status": status,
                "pending": int(row.get("pending", 0)),
                "due": int(row.get("due", 0)),
                "overdue": int(row.get("overdue", 0)),
                "next_at": _iso(row.get("next_at")),
                "next": [
                    {
                        "booking_id": d["booking_id"],
                        "space_id": d["space_id"],
                        "location_id": d["location_id"],
                        "deadline_at": d["deadline_at"].isoformat(),
                        "start": d["starts_at"].isoformat(),
                        "end": d["ends_at"].isoformat(),
                        "expires_at": _iso(d["expires_at"]),
                    }
                    for d in await next_deadlines(status, limit)
                ],
            }
        )
    return kinds


async def deadline_summary(now: datetime) -> list[dict[str, Any]]:
    """Per live status: deadlines pending, due (at or before now), overdue, and the next one."""
    return await db().execute_query_dict(
        "SELECT status, count(*) AS pending,"
        " count(*) FILTER (WHERE deadline_at <= $1) AS due,"
        " count(*) FILTER (WHERE deadline_at <= $2) AS overdue,"
        " min(deadline_at) AS next_at FROM bookings"
        f" WHERE deadline_at IS NOT NULL AND status IN {LIVE_SQL} GROUP BY status",
        [now, now - OVERDUE_AFTER],
    )


async def next_deadlines(status: str, limit: int) -> list[dict[str, Any]]:
    return await db().execute_query_dict(
        "SELECT id AS booking_id, space_id, location_id, deadline_at, starts_at, ends_at,"
        " expires_at FROM bookings WHERE deadline_at IS NOT NULL AND status = $1"
        " ORDER BY deadline_at, id LIMIT $2",
        [status, limit],
    )


async def recently_expired(limit: int) -> list[dict[str, Any]]:
    """The holds that expired last, newest first, as the API shows them."""
    rows = await db().execute_query_dict(
        "SELECT id AS booking_id, space_id, location_id, user_id, expires_at,"
        " updated_at AS expired_at FROM bookings WHERE status = 'expired'"
        " ORDER BY updated_at DESC, id DESC LIMIT $1",
        [limit],
    )
    return [
        {**r, "expires_at": _iso(r["expires_at"]), "expired_at": r["expired_at"].isoformat()}
        for r in rows
    ]
